package testkit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/auth"
	"github.com/todoevents/todo/shared/httpx"
)

// Request builds a request for target (a path, or a full URL for a real
// client), with a bearer token when token is set and a JSON body when body
// is not nil; headers are name, value pairs that override the defaults.
func Request(tb testing.TB, method, target, token string, body []byte, headers ...string) *http.Request {
	tb.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	given := map[string]bool{}
	for i := 0; i+1 < len(headers); i += 2 {
		if !given[headers[i]] { // a name given twice is sent twice
			req.Header.Del(headers[i])
			given[headers[i]] = true
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}

// Do serves one Request on h and checks the exchange against the API's
// OpenAPI document (CheckContract).
func Do(tb testing.TB, h http.Handler, method, path, token string, body []byte, headers ...string) *httptest.ResponseRecorder {
	tb.Helper()
	req := Request(tb, method, path, token, body, headers...)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	CheckContract(tb, req, body, rec.Code, rec.Header(), rec.Body.Bytes())
	return rec
}

// ErrorCode checks rec is a JSON error with status want and returns its
// code and field.
func ErrorCode(tb testing.TB, rec *httptest.ResponseRecorder, want int) (code, field string) {
	tb.Helper()
	if rec.Code != want {
		tb.Fatalf("status %d, want %d; body %s", rec.Code, want, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("Content-Type %q, want application/json; body %s", ct, rec.Body)
	}
	var body struct {
		Error struct {
			Code, Message, Field string
		}
		Detail string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		tb.Fatalf("not a JSON error body: %s (%v)", rec.Body, err)
	}
	return body.Error.Code, body.Error.Field
}

// Decode unmarshals rec's JSON body into v.
func Decode(tb testing.TB, rec *httptest.ResponseRecorder, v any) {
	tb.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		tb.Fatalf("body %s is not JSON: %v", rec.Body, err)
	}
}

// Scrape returns what a metrics handler serves.
func Scrape(tb testing.TB, metrics http.Handler) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// ScrapeAt returns what the metrics listener at addr (METRICS_ADDR) serves.
func ScrapeAt(tb testing.TB, addr string) string {
	tb.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("metrics at %s: %d %v", addr, resp.StatusCode, err)
	}
	return string(b)
}

// Guard admits requests bearing tokens signed with Secret.
func Guard() httpx.Guard {
	return httpx.Guard{Auth: auth.Verifier{Secret: []byte(Secret)}}
}

// Serve is a handler's routes inside the functions' middleware, logging
// nowhere: what a unit test of a handler calls.
func Serve(routes ...httpx.Route) http.Handler {
	return httpx.Serve(httpx.Middleware{Log: zerolog.Nop()}, routes...)
}
