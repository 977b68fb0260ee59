package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	cases := map[Code]int{
		Invalid: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, MethodNotAllowed: 405,
		Conflict: 409, TooLarge: 413, RateLimited: 429, Unavailable: 503, Internal: 500, Code("bogus"): 500,
	}
	for code, want := range cases {
		if got := HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestAsHidesUnknownErrors(t *testing.T) {
	t.Parallel()
	e := As(errors.New("pq: secret detail"))
	if e.Code != Internal || e.Message != "internal error" {
		t.Fatalf("got %+v", e)
	}
	wrapped := fmt.Errorf("ctx: %w", Field("title", "is required"))
	if CodeOf(wrapped) != Invalid || As(wrapped).Field != "title" {
		t.Fatalf("wrapped error lost its code: %v", wrapped)
	}
	if HTTPStatus(CodeOf(Wrap(Unavailable, errors.New("x"), "db down"))) != http.StatusServiceUnavailable {
		t.Fatal("unavailable must map to 503")
	}
}
