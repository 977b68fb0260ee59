package kafka

import (
	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is one Kafka record as the functions see it: where it is, its
// key, value and headers. It keeps the client library (sarama) inside this
// package.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
}

// Header is one record header.
type Header struct {
	Key, Value []byte
}

// Header returns the value of the header named key ("" when absent).
func (r Record) Header(key string) string {
	for _, h := range r.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// RecordOf is a message sarama consumed as a Record (for readers outside
// this package that use sarama themselves: tests and tools).
func RecordOf(m *sarama.ConsumerMessage) Record {
	r := Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		if h != nil {
			r.Headers = append(r.Headers, Header{Key: h.Key, Value: h.Value})
		}
	}
	return r
}

// message is a Record as sarama's consumed message (for the CloudEvents
// binding, which reads those).
func (r Record) message() *sarama.ConsumerMessage {
	m := &sarama.ConsumerMessage{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, &sarama.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return m
}

// recordOfKgo is a record the group consumer fetched as a Record.
func recordOfKgo(m *kgo.Record) Record {
	r := Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		r.Headers = append(r.Headers, Header{Key: []byte(h.Key), Value: h.Value})
	}
	return r
}
