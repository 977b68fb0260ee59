package app

import (
	"context"
	"net/http"
)

// Lifecycle gives a function the Stop, Ready and Handle methods of the
// Knative function shape once its dependencies and handler are set.
type Lifecycle struct {
	Deps    *Deps
	Handler http.Handler
}

// Stop releases the function's dependencies.
func (l *Lifecycle) Stop(context.Context) error {
	if l.Deps != nil {
		l.Deps.Close()
	}
	return nil
}

// Ready reports whether the database answers.
func (l *Lifecycle) Ready(ctx context.Context) (bool, error) {
	if l.Deps == nil {
		return false, nil
	}
	err := l.Deps.Store.Ping(ctx)
	return err == nil, err
}

// Handle serves a request.
func (l *Lifecycle) Handle(w http.ResponseWriter, r *http.Request) {
	l.Handler.ServeHTTP(w, r)
}
