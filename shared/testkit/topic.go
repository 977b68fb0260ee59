package testkit

import (
	"context"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/kafka"
)

// ReadTopic returns every record of topic on brokers (comma-separated), in
// offset order per partition.
func ReadTopic(tb testing.TB, brokers, topic string) []kafka.Record {
	tb.Helper()
	client, err := sarama.NewClient(strings.Split(brokers, ","), kafka.Config("topic-reader"))
	if err != nil {
		tb.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		tb.Fatal(err)
	}
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		tb.Fatal(err)
	}
	var out []kafka.Record
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			tb.Fatal(err)
		}
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			tb.Fatal(err)
		}
		for m := range pc.Messages() {
			out = append(out, kafka.RecordOf(m))
			if m.Offset >= end-1 {
				break
			}
		}
		_ = pc.Close()
	}
	return out
}

// CommittedOffsets returns the sum of group's committed offsets on brokers
// (comma-separated); 0 when it has committed none.
func CommittedOffsets(tb testing.TB, brokers, group string) int64 {
	tb.Helper()
	admin, err := sarama.NewClusterAdmin(strings.Split(brokers, ","), kafka.Config("offset-reader"))
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.ListConsumerGroupOffsets(group, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var sum int64
	for _, parts := range res.Blocks {
		for _, b := range parts {
			if b.Offset > 0 {
				sum += b.Offset
			}
		}
	}
	return sum
}

// Event decodes record m as a CloudEvent (as recur-task does).
func Event(tb testing.TB, m kafka.Record) cloudevents.Event {
	tb.Helper()
	e, err := kafka.DecodeRecord(context.Background(), m)
	if err != nil {
		tb.Fatalf("record %s/%d/%d is not a CloudEvent: %v", m.Topic, m.Partition, m.Offset, err)
	}
	return *e
}

// Extension returns e's extension name as a string ("" when absent).
func Extension(e cloudevents.Event, name string) string {
	v, _ := e.Extensions()[name].(string)
	return v
}

// ProduceRaw sends records to brokers (comma-separated) exactly as given,
// bypassing the CloudEvents encoding: how tests put records no function
// would write (poison, foreign, malformed) on a topic.
func ProduceRaw(tb testing.TB, brokers string, msgs ...*sarama.ProducerMessage) {
	tb.Helper()
	cfg := kafka.Config("raw-producer")
	producer, err := sarama.NewSyncProducer(strings.Split(brokers, ","), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer producer.Close()
	if err := producer.SendMessages(msgs); err != nil {
		tb.Fatal(err)
	}
}
