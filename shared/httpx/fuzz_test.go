package httpx

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/todoevents/todo/shared/apperr"
)

// FuzzDecodeJSON sends arbitrary bodies: the decoder must never panic and
// must only ever fail with a client error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{"completed":true}`, `[`, "\xff", `{"a":1}{}`, ``, `null`} {
		f.Add([]byte(s), "application/json")
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		var dst struct {
			Name      *string `json:"name"`
			Count     int     `json:"count"`
			Completed *bool   `json:"completed"`
		}
		_, err := DecodeJSON(r, &dst, true)
		if err == nil {
			return
		}
		if code := apperr.CodeOf(err); code != apperr.Invalid && code != apperr.TooLarge {
			t.Fatalf("body %q: error code %s, want a client error", body, code)
		}
	})
}
