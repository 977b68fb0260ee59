package httpx

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/todoevents/todo/shared/apperr"
)

// Authorizer checks that a request's bearer token belongs to a user.
type Authorizer interface {
	Authorize(r *http.Request, user string) error
}

// Limiter takes one token of key's rate limit, or says how long to wait.
type Limiter interface {
	Allow(key string) (bool, time.Duration)
}

// Guard admits API requests: the token must belong to the path's user, and
// writes take a token of that user's rate limit.
type Guard struct {
	Auth   Authorizer
	Writes Limiter // nil: no limit
}

// User authorizes r for the {user_id} of its path and returns it.
func (g Guard) User(r *http.Request) (string, error) {
	user := r.PathValue("user_id")
	if user == "" || len(user) > 255 || !utf8.ValidString(user) || strings.ContainsRune(user, 0) {
		return "", apperr.Field("user_id", "must be 1 to 255 bytes of UTF-8 without NUL")
	}
	if err := g.Auth.Authorize(r, user); err != nil {
		return "", err
	}
	return user, nil
}

// Writer is User for a request that changes data: it also takes a token
// from the user's write rate limit.
func (g Guard) Writer(w http.ResponseWriter, r *http.Request) (string, error) {
	user, err := g.User(r)
	if err != nil || g.Writes == nil {
		return user, err
	}
	ok, wait := g.Writes.Allow(user)
	return user, Limit(w, ok, wait)
}

// Task is User for a path that names one task: it also returns the
// {id} of the path (an id that is not a UUID names no task).
func (g Guard) Task(r *http.Request) (user, id string, err error) {
	if user, err = g.User(r); err == nil {
		id, err = TaskID(r)
	}
	return user, id, err
}

// WriterTask is Task for a request that changes the task: it also takes a
// token from the user's write rate limit.
func (g Guard) WriterTask(w http.ResponseWriter, r *http.Request) (user, id string, err error) {
	if user, err = g.Writer(w, r); err == nil {
		id, err = TaskID(r)
	}
	return user, id, err
}

// Limit turns a refused rate-limit token into a 429 error with a
// Retry-After header (whole seconds, at least 1).
func Limit(w http.ResponseWriter, ok bool, wait time.Duration) error {
	if ok {
		return nil
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
	return apperr.New(apperr.RateLimited, "too many requests; retry in %.1fs", wait.Seconds())
}
