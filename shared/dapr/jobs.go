package dapr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// JobRoute is where the sidecar calls the app when a job is due:
// POST /job/{name}.
const JobRoute = "/job/{name}"

// Jobs schedules one-shot jobs through the sidecar's Jobs API (alpha in
// Dapr 1.15: /v1.0-alpha1/jobs/{name}, kept by the Dapr scheduler, which
// calls the app back at JobRoute when one is due). Scheduling a name again
// overwrites the job.
type Jobs struct {
	BaseURL string // http://localhost:3500
	Token   string // sent as dapr-api-token when set
	Client  *http.Client
}

// Schedule creates or overwrites the job name, due once at due (sent in
// UTC), with data as its payload.
func (j Jobs) Schedule(ctx context.Context, name string, due time.Time, data any) error {
	body, err := json.Marshal(struct {
		DueTime string `json:"dueTime"`
		Data    any    `json:"data,omitempty"`
	}{due.UTC().Format(time.RFC3339Nano), data})
	if err != nil {
		return err
	}
	return j.call(ctx, http.MethodPost, name, body)
}

// Delete deletes the job name.
func (j Jobs) Delete(ctx context.Context, name string) error {
	return j.call(ctx, http.MethodDelete, name, nil)
}

func (j Jobs) call(ctx context.Context, method, name string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, j.BaseURL+"/v1.0-alpha1/jobs/"+url.PathEscape(name), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, msg, err := send(j.Client, req, j.Token)
	if err != nil {
		return fmt.Errorf("%s job %s through the Dapr sidecar: %w", method, name, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s job %s: the Dapr sidecar answered %s: %s", method, name, resp.Status, msg)
	}
	return nil
}
