package httpx

import "context"

type drainKey struct{}

// WithDrain returns ctx carrying drain, a channel the server closes when
// it begins to shut down (the base context of every request it serves).
func WithDrain(ctx context.Context, drain <-chan struct{}) context.Context {
	return context.WithValue(ctx, drainKey{}, drain)
}

// Draining is the channel closed when the server serving the request of
// ctx begins to shut down: a long-lived response (an event stream) ends
// then, so the shutdown need not wait for it and its client reconnects to
// another replica. It is nil, and so never ready, where no server set it.
func Draining(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(drainKey{}).(<-chan struct{})
	return ch
}
