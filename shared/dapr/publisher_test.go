package dapr

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/events"
)

func TestPublisherPostsStructuredEventsToTheSidecar(t *testing.T) {
	t.Parallel()
	var got struct {
		path, key, contentType, token, header string
		body                                  []byte
	}
	status := http.StatusNoContent
	sidecar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path, got.key = r.URL.Path, r.URL.Query().Get("metadata.partitionKey")
		got.header = r.URL.Query().Get("metadata.content-type")
		got.contentType, got.token = r.Header.Get("Content-Type"), r.Header.Get("dapr-api-token")
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
	}))
	defer sidecar.Close()
	e := cloudevents.NewEvent()
	e.SetID("e1")
	e.SetSource("/functions/test")
	e.SetType(events.TypeTaskCompleted)
	e.SetExtension(events.ExtPartitionKey, "user 1")
	p := &Publisher{BaseURL: sidecar.URL, PubSub: "kafka-pubsub", Token: "tok"}
	if err := p.Publish(context.Background(), events.TopicTaskEvents, e); err != nil {
		t.Fatal(err)
	}
	var sent cloudevents.Event
	if err := sent.UnmarshalJSON(got.body); err != nil || sent.ID() != "e1" || sent.Type() != events.TypeTaskCompleted {
		t.Fatalf("body %s: %v", got.body, err)
	}
	if got.path != "/v1.0/publish/kafka-pubsub/task-events" || got.key != "user 1" ||
		got.contentType != "application/cloudevents+json" || got.token != "tok" || got.header != "application/cloudevents+json" {
		t.Fatalf("request: %+v", got)
	}
	var perm interface{ Permanent() bool }
	for code, permanent := range map[int]bool{400: true, 403: true, 404: false, 500: false, 503: false} {
		status = code
		err := p.Publish(context.Background(), events.TopicTaskEvents, e)
		if err == nil || (errors.As(err, &perm) && perm.Permanent()) != permanent {
			t.Fatalf("sidecar %d: %v, want permanent = %v", code, err, permanent)
		}
	}
	sidecar.Close()
	if err := p.Publish(context.Background(), events.TopicTaskEvents, e); err == nil || errors.As(err, &perm) {
		t.Fatalf("sidecar down: %v, want a transient error", err)
	}
}
