package apperr

import (
	"errors"
	"fmt"
	"testing"
)

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
	if CodeOf(Wrap(Unavailable, errors.New("x"), "db down")) != Unavailable {
		t.Fatal("a wrapped error lost its code")
	}
}
