package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/todoevents/todo/shared/backoff"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/tracing"
)

// Entry is one task event as a page receives it. ID is "<partition>-<offset>"
// of its Kafka record: a user's events share a partition (the record key is
// the user id), so a page resumes from the last ID it saw.
type Entry struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Time   time.Time       `json:"time"`
	TaskID string          `json:"task_id"`
	Title  string          `json:"title,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`

	user   string
	offset int64
}

// BufferPerPartition is how many recent events of each partition a feed
// keeps to replay after a reconnect.
const BufferPerPartition = 4096

// subscriberBuffer is how many events wait for a slow page before it is
// cut off (it reconnects and resumes from its Last-Event-ID).
const subscriberBuffer = 256

// Feed reads every partition of one topic (task-events, or reminders)
// from its end and hands each event to the open pages of the event's user,
// keeping recent events for pages that reconnect. Each instance reads every
// partition itself (no consumer group): its pages' users may be anywhere.
type Feed struct {
	Brokers    []string
	Topic      string
	Partitions int32
	Log        zerolog.Logger
	// PerUser and Total bound the open streams of one user and of the
	// process (0: no bound).
	PerUser, Total int
	// Tracer records the handing of each traced event to its user's pages
	// (nil: nothing is traced).
	Tracer trace.Tracer

	mu      sync.Mutex
	open    int               // streams open in all
	recent  map[int32][]Entry // per partition, oldest first
	first   map[int32]int64   // the offset the feed started reading each partition at
	pages   map[string]map[chan Entry]struct{}
	streams map[string]int // open streams per user, cut-off ones included until they end
	started chan struct{}
	once    sync.Once
}

// NewFeed returns a feed of topic over brokers; Run reads.
func NewFeed(brokers []string, topic string, partitions int32, log zerolog.Logger) *Feed {
	return &Feed{Brokers: brokers, Topic: topic, Partitions: partitions, Log: log, recent: map[int32][]Entry{},
		first: map[int32]int64{}, pages: map[string]map[chan Entry]struct{}{}, streams: map[string]int{},
		started: make(chan struct{})}
}

// Started is closed once the feed reads every partition.
func (f *Feed) Started() <-chan struct{} { return f.started }

// Run reads until ctx ends, reconnecting while the brokers are away.
func (f *Feed) Run(ctx context.Context) error {
	var retry backoff.Backoff
	for ctx.Err() == nil {
		err := kafka.EnsureTopics(f.Log, f.Brokers, max(f.Partitions, 1), f.Topic)
		if err == nil {
			err = f.read(ctx)
		}
		if ctx.Err() != nil {
			break
		}
		f.Log.Warn().Err(err).Str("topic", f.Topic).Msg("live feed cannot read its topic; retrying")
		retry.Wait(ctx)
	}
	return nil
}

func (f *Feed) read(ctx context.Context) error {
	return kafka.Tail(ctx, f.Brokers, "live-updates", f.Topic, f.resumeAt, func(highWater map[int32]int64) {
		f.mu.Lock()
		for p, hw := range highWater {
			if _, ok := f.first[p]; !ok {
				f.first[p] = hw
			}
		}
		f.mu.Unlock()
		f.once.Do(func() { close(f.started) })
	}, f.add)
}

// resumeAt is where to read partition p from: after the last event kept,
// or its end on first sight.
func (f *Feed) resumeAt(p int32) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.recent[p]; len(r) > 0 {
		return r[len(r)-1].offset + 1
	}
	if off, ok := f.first[p]; ok {
		return off
	}
	return kafka.OffsetNewest
}

// add keeps a record's event and hands it to its user's pages. A page
// whose buffer is full is cut off; it resumes when it reconnects.
func (f *Feed) add(ctx context.Context, msg kafka.Record) {
	e, err := kafka.DecodeRecord(ctx, msg)
	if err != nil {
		return // not a CloudEvent: nothing a page could show
	}
	user, _ := e.Extensions()[events.ExtPartitionKey].(string)
	if user == "" || !strings.HasPrefix(e.Type(), "com.todo.task.") {
		return
	}
	if f.Tracer != nil {
		_, span := tracing.StartProcess(ctx, f.Tracer, *e, msg.Topic)
		defer span.End()
	}
	entry := Entry{ID: fmt.Sprintf("%d-%d", msg.Partition, msg.Offset), Type: e.Type(), Time: e.Time(),
		TaskID: e.Subject(), Data: e.Data(), user: user, offset: msg.Offset}
	var data struct {
		Title string `json:"title"`
	}
	if json.Unmarshal(e.Data(), &data) == nil {
		entry.Title = data.Title
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := append(f.recent[msg.Partition], entry)
	if len(r) > BufferPerPartition {
		r = r[len(r)-BufferPerPartition:]
	}
	f.recent[msg.Partition] = r
	for ch := range f.pages[user] {
		select {
		case ch <- entry:
		default:
			delete(f.pages[user], ch)
			close(ch)
		}
	}
}

// errTooOld says a page's last event is older than what the feed keeps.
var errTooOld = fmt.Errorf("the events after it are no longer kept")

// Errors of Subscribe when a bound is reached: the user's own streams, or
// the process's.
var (
	errUserStreams = errors.New("too many open event streams for this user")
	errAllStreams  = errors.New("too many open event streams")
)

// Subscribe registers a page of user, unless the user already has PerUser
// streams open (errUserStreams) or the process Total (errAllStreams). After
// lastID ("" for none) it returns the user's kept events that came after
// it; errTooOld means some may be missing (the page reloads its list). The
// channel closes when the page is too slow; cancel ends the subscription
// and must be called once the page is gone, even when it was cut off.
func (f *Feed) Subscribe(user, lastID string) (missed []Entry, ch chan Entry, cancel func(), err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.PerUser > 0 && f.streams[user] >= f.PerUser:
		return nil, nil, nil, errUserStreams
	case f.Total > 0 && f.open >= f.Total:
		return nil, nil, nil, errAllStreams
	}
	if lastID != "" {
		missed, err = f.after(user, lastID)
	}
	ch = make(chan Entry, subscriberBuffer)
	if f.pages[user] == nil {
		f.pages[user] = map[chan Entry]struct{}{}
	}
	f.pages[user][ch] = struct{}{}
	f.streams[user]++
	f.open++
	var once sync.Once
	return missed, ch, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.pages[user][ch]; ok {
				delete(f.pages[user], ch)
				close(ch)
			}
			if len(f.pages[user]) == 0 {
				delete(f.pages, user)
			}
			if f.streams[user]--; f.streams[user] == 0 {
				delete(f.streams, user)
			}
			f.open--
		})
	}, err
}

// Open returns how many streams are open, in all and for user.
func (f *Feed) Open(user string) (all, ofUser int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open, f.streams[user]
}

// after lists user's kept events after id; f.mu is held.
func (f *Feed) after(user, id string) ([]Entry, error) {
	ps, os, ok := strings.Cut(id, "-")
	p, perr := strconv.ParseInt(ps, 10, 32)
	o, oerr := strconv.ParseInt(os, 10, 64)
	if !ok || perr != nil || oerr != nil {
		return nil, errTooOld
	}
	r := f.recent[int32(p)]
	start, known := f.first[int32(p)]
	if len(r) > 0 {
		start = r[0].offset
	}
	if !known || o+1 < start {
		return nil, errTooOld
	}
	var out []Entry
	for _, e := range r {
		if e.offset > o && e.user == user {
			out = append(out, e)
		}
	}
	return out, nil
}
