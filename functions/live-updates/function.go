// Package function is the live-updates function: it reads task-events and
// reminders and streams each user's own events and reminders to their open
// pages as Server-Sent Events (GET /api/{user_id}/events, resumable with
// Last-Event-ID and Last-Reminder-ID), and serves the web app that shows
// them (GET /).
package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
)

// Name is the function's name.
const Name = "live-updates"

// StreamRetry is how long a page whose user has every stream allowed
// open waits before it asks again (its Retry-After).
const StreamRetry = 30 * time.Second

// Heartbeat is how often an idle stream gets a comment, so proxies keep it
// open and a dead page is noticed.
const Heartbeat = 15 * time.Second

// LiveUpdates serves live-updates.
type LiveUpdates struct {
	app.Lifecycle
	feed      *Feed // task-events
	reminders *Feed
}

// New returns an unstarted function (Start connects it). It writes
// nothing, so it runs no outbox relay.
func New() *LiveUpdates {
	f := &LiveUpdates{}
	f.Lifecycle = app.NewLifecycle(Name, config.Requirements{Auth: true}, func(rt *app.Runtime) []httpx.Route {
		log := rt.Log.With().Str("part", "feed").Logger()
		f.feed = NewFeed(rt.Config.KafkaBrokers, events.TopicTaskEvents, rt.Config.KafkaPartitions, log)
		f.feed.Tracer = rt.Tracing.Tracer()
		f.feed.PerUser, f.feed.Total = rt.Config.StreamsPerUser, rt.Config.StreamsTotal
		// A page's reminders ride on its one stream, which the task feed
		// already counted against the bounds.
		f.reminders = NewFeed(rt.Config.KafkaBrokers, events.TopicReminders, rt.Config.KafkaPartitions, log)
		f.reminders.Tracer = rt.Tracing.Tracer()
		if len(f.feed.Brokers) > 0 {
			rt.Go(f.feed.Run)
			rt.Go(f.reminders.Run)
		} else {
			rt.Log.Warn().Msg("no KAFKA_BROKERS: pages get no live events")
		}
		return append(Handler{Feed: f.feed, Reminders: f.reminders, Guard: rt.Guard}.Routes(), WebRoutes()...)
	})
	return f
}

// Ready reports whether the database answers and, with brokers, whether
// both feeds read every partition (a page that connected earlier could
// miss events).
func (f *LiveUpdates) Ready(ctx context.Context) (bool, error) {
	ok, err := f.Lifecycle.Ready(ctx)
	if !ok || err != nil || f.feed == nil || len(f.feed.Brokers) == 0 {
		return ok, err
	}
	for _, feed := range []*Feed{f.feed, f.reminders} {
		select {
		case <-feed.Started():
		default:
			return false, nil
		}
	}
	return true, nil
}

// Handler streams events.
type Handler struct {
	Feed      *Feed // task events; its bounds count the streams
	Reminders *Feed // nil: the stream carries no reminders
	Guard     httpx.Guard
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{{Method: http.MethodGet, Pattern: "/api/{user_id}/events", Handler: h.stream}}
}

// stream sends the user's events as they happen: first those after the
// Last-Event-ID header the page last saw, then live ones. A "reset" event
// says events may have been missed (the page reloads its list). The user's
// reminders come on the same stream as "reminder" events without an SSE
// id (so they leave Last-Event-ID alone): each carries its own id in its
// data, and the page resumes them with Last-Reminder-ID. Browsers'
// EventSource cannot send an Authorization header, so the page reads the
// stream with fetch, which can: the token never goes into a URL.
func (h Handler) stream(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	last := r.Header.Get("Last-Event-ID")
	missed, ch, cancel, err := h.Feed.Subscribe(user, last)
	switch {
	case errors.Is(err, errUserStreams):
		w.Header().Set("Retry-After", strconv.Itoa(int(StreamRetry.Seconds())))
		return apperr.New(apperr.RateLimited, "%d event streams are open for this user, the most allowed (LIVE_STREAMS_PER_USER); close one", h.Feed.PerUser)
	case errors.Is(err, errAllStreams):
		return apperr.New(apperr.Unavailable, "this server has all the event streams it can hold open; retry later")
	}
	defer cancel()
	var dueNow []Entry
	var reminders chan Entry
	if h.Reminders != nil {
		var done func()
		// A reminder id too old to resume from asks for nothing: those
		// reminders were for the past. (The reminder feed has no bounds of
		// its own, so it always subscribes.)
		dueNow, reminders, done, _ = h.Reminders.Subscribe(user, r.Header.Get("Last-Reminder-ID"))
		if done != nil {
			defer done()
		}
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n\n")
	if errors.Is(err, errTooOld) {
		fmt.Fprint(w, "event: reset\ndata: {}\n\n")
	}
	for _, e := range missed {
		writeEvent(w, "task", e.ID, e)
	}
	for _, e := range dueNow {
		writeEvent(w, "reminder", "", e)
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	beat := time.NewTicker(Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-httpx.Draining(r.Context()):
			return nil // this replica is stopping: the page reconnects to another and resumes
		case e, ok := <-ch:
			if !ok {
				return nil // too slow: the page reconnects and resumes
			}
			writeEvent(w, "task", e.ID, e)
		case e, ok := <-reminders:
			if !ok {
				return nil
			}
			writeEvent(w, "reminder", "", e)
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// writeEvent sends e as an event of kind, with the SSE id id ("" for none:
// a reminder's id is in its data only, so it leaves Last-Event-ID alone).
func writeEvent(w http.ResponseWriter, kind, id string, e Entry) {
	b, _ := json.Marshal(e) // plain fields and raw JSON: cannot fail
	if id != "" {
		fmt.Fprintf(w, "id: %s\n", id)
	}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", kind, b)
}
