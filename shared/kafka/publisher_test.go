package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/todoevents/todo/shared/kafka"
)

// A caller that stops while the broker does not answer (the producer would
// retry for about 40 s) gets its records back as not sent at once, so a
// relay stopping on SIGTERM does not wait for the broker.
func TestPublishStructuredReturnsWhenTheCallerStops(t *testing.T) {
	b, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := kafka.NewPublisher(b.ListenAddrs(), "stopping")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close() // after the broker answers again
	hold := make(chan struct{})
	defer close(hold)
	b.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		b.KeepControl()
		b.SleepControl(func() { <-hold })
		return nil, nil, false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	errs := p.PublishStructured(ctx, []string{topic}, []string{"k"}, [][]byte{[]byte(`{}`)})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("returned after %v", took)
	}
	if !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Fatalf("error %v, want the caller's deadline", errs[0])
	}
}
