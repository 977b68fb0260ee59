package contract

import (
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/task"
)

// Once names a create by the client's idempotency key and the digest of
// what it asked for.
type Once struct{ Key, Digest string }

// IdempotencyKeyTTL is how long an idempotency key is remembered.
const IdempotencyKeyTTL = 24 * time.Hour

// Mutation changes a locked task in place and returns the event announcing
// the change, or nil when nothing changed (then nothing is written).
type Mutation = func(t *task.Task) (*cloudevents.Event, error)
