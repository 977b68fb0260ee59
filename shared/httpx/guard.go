package httpx

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/todoevents/todo/shared/apperr"
)

// Authorizer checks that a request's bearer token belongs to a user, or
// says whose it is.
type Authorizer interface {
	Authorize(r *http.Request, user string) error
	UserFromRequest(r *http.Request) (string, error)
}

// Limiter takes one token of key's rate limit, or says how long to wait.
type Limiter interface {
	Allow(key string) (bool, time.Duration)
}

// Guard admits API requests: the token must belong to the path's user.
// (Writes also take a token of the user's write budget, which the store
// keeps: one budget across every route and process.)
type Guard struct {
	Auth Authorizer
}

// User authorizes r for the {user_id} of its path and returns it; on a
// route without the user segment (/api/tasks…) it is the token's subject.
func (g Guard) User(r *http.Request) (string, error) {
	if r.PathValue("user_id") == "" && IsTwin(r.URL.Path) {
		user, err := g.Auth.UserFromRequest(r)
		if err != nil {
			return "", err
		}
		if !validUser(user) {
			return "", apperr.New(apperr.Forbidden, "the token's subject is not a user id this API takes (1 to 255 bytes of UTF-8 without NUL)")
		}
		return user, nil
	}
	user := r.PathValue("user_id")
	if !validUser(user) {
		return "", apperr.Field("user_id", "must be 1 to 255 bytes of UTF-8 without NUL")
	}
	if err := g.Auth.Authorize(r, user); err != nil {
		return "", err
	}
	return user, nil
}

func validUser(user string) bool {
	return user != "" && len(user) <= 255 && utf8.ValidString(user) && !strings.ContainsRune(user, 0)
}

// Task is User for a path that names one task: it also returns the
// {id} of the path (an id that is not a UUID names no task).
func (g Guard) Task(r *http.Request) (user, id string, err error) {
	if user, err = g.User(r); err == nil {
		id, err = TaskID(r)
	}
	return user, id, err
}

// Limit turns a refused rate-limit token into a 429 error that says when to
// try again (the Retry-After header, whole seconds, at least 1).
func Limit(ok bool, wait time.Duration) error {
	if ok {
		return nil
	}
	return &apperr.Error{Code: apperr.RateLimited, Message: fmt.Sprintf("too many requests; retry in %.1fs", wait.Seconds()),
		RetryAfter: max(wait, time.Second)}
}
