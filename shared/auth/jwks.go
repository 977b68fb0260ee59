package auth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWKS settings: the key set is fetched at start (a failure there is only
// logged, so the API starts before its identity provider), refreshed every
// RefreshEvery, and refetched when a token names an unknown key id, at
// most once per UnknownKeyEvery (other unknown ids in between are refused
// at once, never queued).
const (
	RefreshEvery    = time.Hour
	UnknownKeyEvery = time.Minute
	fetchTimeout    = 10 * time.Second
)

// JWKS returns the keys of the key set at url, kept fresh in the
// background until ctx ends. onError hears failed fetches.
func JWKS(ctx context.Context, url string, client *http.Client, onError func(url string, err error)) (jwt.Keyfunc, error) {
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		Client:            client,
		HTTPTimeout:       fetchTimeout,
		RefreshInterval:   RefreshEvery,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(UnknownKeyEvery), 1),
		RateLimitWaitMax:  250 * time.Millisecond, // refuse at once unless the limiter frees up within it
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) { onError(u, err) }
		},
	})
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", url, err)
	}
	return k.Keyfunc, nil
}
