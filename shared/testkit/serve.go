package testkit

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/server"
)

// FreeAddr is a loopback address nothing listens on.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Run serves fn as its binary does (server.Run) on a loopback port with
// env until the test ends, and returns its base URL once it is ready.
func Run(tb testing.TB, fn server.Service, env map[string]string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, fn, env, "", ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("%T stopped: %v", fn, err)
		}
	})
	base := "http://" + ln.Addr().String()
	Eventually(tb, "ready", 10*time.Second, func() bool {
		resp, err := http.Get(base + "/health/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}
