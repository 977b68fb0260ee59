package kafka

import (
	"context"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// OffsetNewest starts a partition at its end (what is produced from now on).
const OffsetNewest = sarama.OffsetNewest

// Tail reads every partition of topic without a consumer group (each
// reader sees every record), partition p from the offset from(p) returns
// (OffsetNewest: its end), and hands each record to handle, in order per
// partition (partitions concurrently). Once every partition is open it
// calls opened with each one's high-water mark then. It returns when ctx
// ends (nil) or a partition fails.
func Tail(ctx context.Context, brokers []string, clientID, topic string, from func(partition int32) int64,
	opened func(highWater map[int32]int64), handle func(context.Context, Record)) error {
	consumer, err := sarama.NewConsumer(brokers, Config(clientID))
	if err != nil {
		return err
	}
	defer consumer.Close()
	parts, err := consumer.Partitions(topic)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(parts))
	var wg sync.WaitGroup
	defer wg.Wait()
	highWater := map[int32]int64{}
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(topic, p, from(p))
		if err != nil {
			cancel()
			return err
		}
		highWater[p] = pc.HighWaterMarkOffset()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.AsyncClose()
			for {
				select {
				case <-ctx.Done():
					return
				case msg, ok := <-pc.Messages():
					if !ok {
						errs <- fmt.Errorf("partition %d closed", p)
						return
					}
					handle(ctx, RecordOf(msg))
				case err := <-pc.Errors():
					errs <- err
					return
				}
			}
		}()
	}
	opened(highWater)
	select {
	case err = <-errs:
	case <-ctx.Done():
		err = nil
	}
	cancel()
	return err
}
