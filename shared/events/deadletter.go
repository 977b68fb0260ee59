package events

import (
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
)

// TypeDeadLettered is the type of the event that carries input which could
// not be processed to the dead-letter topic.
const TypeDeadLettered = "com.todo.event.dead-lettered"

// Extensions of a dead letter (ce_dlqreason and ce_dlqorigin headers in
// Kafka's binary mode).
const (
	ExtDeadLetterWhy    = "dlqreason"
	ExtDeadLetterOrigin = "dlqorigin"
)

// DeadLetterData is the data of a dead-lettered event: the input as
// received (base64 in JSON) with its headers, why it was set aside and
// where it came from.
type DeadLetterData struct {
	Reason      string            `json:"reason"`
	Origin      string            `json:"origin"`
	ContentType string            `json:"content_type,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Raw         []byte            `json:"raw"`
}

// DeadLetter wraps input that could not be processed in a valid CloudEvent
// of its own, so that whatever the input was, the dead letter can always be
// published. key is the record key to publish it under (empty when the
// input names no user).
func DeadLetter(source, key string, in DeadLetterData, now time.Time) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	e.SetID(uuid.NewString())
	e.SetType(TypeDeadLettered)
	e.SetSource("/functions/" + source)
	e.SetTime(now)
	e.SetExtension(ExtPartitionKey, key)
	e.SetExtension(ExtDeadLetterWhy, in.Reason)
	e.SetExtension(ExtDeadLetterOrigin, in.Origin)
	err := e.SetData(cloudevents.ApplicationJSON, in)
	return e, err
}
