package events

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/todoevents/todo/shared/task"
)

// FuzzDecodeCompleted feeds arbitrary types and data to the decoder: it must
// never panic, and whatever it accepts must be a usable completion.
func FuzzDecodeCompleted(f *testing.F) {
	f.Add(TypeTaskCompleted, "application/json", []byte(`{"task_id":"123e4567-e89b-12d3-a456-426614174000","user_id":"u","completed_at":"2026-01-01T00:00:00Z"}`))
	f.Add(TypeTaskCompleted, "application/json", []byte(`{"task_id":"123e4567-e89b-12d3-a456-426614174000","user_id":"u","completed_at":"99999-01-01T00:00:00Z"}`))
	f.Add(TypeTaskCreated, "application/json", []byte(`{}`))
	f.Add("com.example", "text/plain", []byte("hello"))
	f.Add(TypeTaskCompleted, "", []byte(`{"tags":[1,2]}`))
	f.Add(TypeTaskCompleted, "application/json", []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, typ, contentType string, data []byte) {
		e := cloudevents.NewEvent()
		e.SetID("id-1")
		e.SetSource("/fuzz")
		e.SetType(typ)
		e.SetDataContentType(contentType)
		e.DataEncoded = data
		c, err := DecodeCompleted(e)
		if err != nil {
			if !errors.Is(err, ErrPoison) && !errors.Is(err, ErrNotForUs) {
				t.Fatalf("error %v is neither poison nor skipped", err)
			}
			return
		}
		if !task.IsUUID(c.Data.TaskID) || c.Data.UserID == "" || c.Data.CompletedAt == nil {
			t.Fatalf("accepted an unusable completion: %+v", c.Data)
		}
	})
}

// FuzzHTTPCloudEvent feeds arbitrary pushed requests through the decoding
// recur-task does: CloudEvents over HTTP, then the completion decoder.
func FuzzHTTPCloudEvent(f *testing.F) {
	f.Add("application/cloudevents+json", []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"com.todo.task.completed","data":{"task_id":"x"}}`), "")
	f.Add("application/json", []byte(`{"a":1}`), TypeTaskCompleted)
	f.Add("application/cloudevents-batch+json", []byte(`[]`), "")
	f.Add("text/plain", []byte("\x00"), "1.0")
	f.Fuzz(func(t *testing.T, contentType string, body []byte, ceType string) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		if ceType != "" {
			r.Header.Set("ce-specversion", "1.0")
			r.Header.Set("ce-id", "fuzz")
			r.Header.Set("ce-source", "/fuzz")
			r.Header.Set("ce-type", ceType)
		}
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			return
		}
		_, _ = DecodeCompleted(*e)
	})
}
