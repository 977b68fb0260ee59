// Package dapr is the Dapr adapter: a publisher that sends events through
// the sidecar's pub/sub API, and the programmatic subscription recur-task
// serves to it.
package dapr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"go.opentelemetry.io/otel/propagation"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/tracing"
)

// Publisher posts CloudEvents to a Dapr sidecar:
// POST {BaseURL}/v1.0/publish/{PubSub}/{topic}?metadata.partitionKey={user}&metadata.content-type=...,
// as application/cloudevents+json so Dapr keeps the event's own id and
// type instead of wrapping it.
type Publisher struct {
	BaseURL string // http://localhost:3500
	PubSub  string
	Token   string // sent as dapr-api-token when set
	Client  *http.Client
}

// Publish sends e to topic and returns once the sidecar accepted it (after
// the broker's ack). An answer that no retry can change (400, 403) comes
// back as an error whose Permanent method returns true.
func (p *Publisher) Publish(ctx context.Context, topic string, e cloudevents.Event) error {
	body, err := e.MarshalJSON()
	if err != nil {
		return refused{fmt.Errorf("encode event %s: %w", e.ID(), err)}
	}
	key, _ := e.Extensions()[events.ExtPartitionKey].(string)
	// Dapr's Kafka component turns publish metadata into record headers:
	// content-type marks the record as a structured CloudEvent for every
	// consumer, partitionKey becomes the key.
	q := url.Values{"metadata.partitionKey": {key}, "metadata.content-type": {"application/cloudevents+json"}}
	target := fmt.Sprintf("%s/v1.0/publish/%s/%s?%s", p.BaseURL, url.PathEscape(p.PubSub), url.PathEscape(topic), q.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	// The sidecar continues the trace of this send (ctx's span, when
	// traced) and writes its own span into the event it publishes.
	tracing.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, msg, err := send(p.Client, req, p.Token)
	if err != nil {
		return fmt.Errorf("publish through the Dapr sidecar: %w", err)
	}
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusForbidden:
		return refused{fmt.Errorf("the Dapr sidecar refused event %s: %s %s", e.ID(), resp.Status, msg)}
	}
	return fmt.Errorf("the Dapr sidecar answered %s: %s", resp.Status, msg)
}

// refused marks an event the sidecar will never accept.
type refused struct{ err error }

func (r refused) Error() string   { return r.err.Error() }
func (r refused) Unwrap() error   { return r.err }
func (r refused) Permanent() bool { return true }

// send sends req to the sidecar (with the API token when set) and returns
// its answer and the start of its body.
func send(client *http.Client, req *http.Request, token string) (*http.Response, []byte, error) {
	if token != "" {
		req.Header.Set("dapr-api-token", token)
	}
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	return resp, msg, nil
}
