package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/server"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// probe is a function for the server's tests: it verifies tokens and has
// a route that reads a JSON body.
func probe() server.Service {
	f := app.NewLifecycle("probe", config.Requirements{Auth: true}, func(rt *app.Runtime) []httpx.Route {
		create := func(w http.ResponseWriter, r *http.Request) error {
			if _, err := rt.Guard.User(r); err != nil {
				return err
			}
			var body struct {
				Title string `json:"title"`
			}
			if _, err := httpx.DecodeJSON(r, &body, false); err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusCreated, body)
			return nil
		}
		return []httpx.Route{{Method: http.MethodPost, Pattern: "/api/{user_id}/tasks", Handler: create},
			{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks", Handler: create}}
	})
	return &f
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// serve runs probe() with env on a free port and waits until it is ready;
// stop signals it to stop (what SIGTERM does) and returns Run's error.
func serve(t *testing.T, env map[string]string) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, probe(), env, "", ln) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, body := get(t, base+"/health/readiness"); code == 200 && strings.Contains(body, "ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("server did not stop")
		}
	}
}

func TestRunServesHealthAndShutsDownGracefully(t *testing.T) {
	t.Parallel()
	metricsAddr := testkit.FreeAddr(t)
	base, stop := serve(t, testkit.Env(testkit.Database(t), map[string]string{"METRICS_ADDR": metricsAddr}))
	if code, _ := get(t, base+"/health/liveness"); code != 200 {
		t.Fatalf("liveness %d", code)
	}
	if code, body := get(t, "http://"+metricsAddr+"/metrics"); code != 200 || !strings.Contains(body, "todo_outbox_pending 0") ||
		!strings.Contains(body, "todo_outbox_oldest_pending_age_seconds 0") {
		t.Fatalf("metrics on METRICS_ADDR: %d %s", code, body)
	}
	// The function's public port has no /metrics (it tells strangers the
	// backlog, the versions, the routes' counts).
	if code, body := get(t, base+"/metrics"); code != 404 || !strings.Contains(body, `"not_found"`) {
		t.Fatalf("metrics on the public port: %d %s", code, body)
	}
	if code, body := get(t, base+"/api/u/tasks"); code != 401 || !strings.Contains(body, `"unauthorized"`) {
		t.Fatalf("API without token: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get(base + "/health/liveness"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestStartFailsOnBadConfig(t *testing.T) {
	t.Parallel()
	err := server.Run(context.Background(), probe(), map[string]string{"PORT": "x"}, "127.0.0.1:0", nil)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "PORT") {
		t.Fatalf("got %v, want errors naming DATABASE_URL and PORT", err)
	}
}

// A client that trickles its body, or only holds a connection open, is cut
// off by the server's timeouts instead of being held forever.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	base := testkit.Run(t, probe(), testkit.Env(testkit.Database(t), map[string]string{"HTTP_READ_TIMEOUT": "300ms",
		"HTTP_HEADER_TIMEOUT": "200ms", "HTTP_IDLE_TIMEOUT": "300ms"}))
	addr := strings.TrimPrefix(base, "http://")

	cases := map[string]string{
		"slow body":    "POST /api/u/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
		"slow headers": "POST /api/u/tasks HTTP/1.1\r\nHost: x\r\n",
		"idle":         "",
	}
	for name, sent := range cases {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := conn.Write([]byte(sent)); err != nil {
				t.Fatal(err)
			}
			// Keep trickling a byte every 50 ms; the server must close the
			// connection long before the 10 s this test allows.
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 512)
			for {
				if sent != "" {
					_, _ = conn.Write([]byte(" "))
				}
				_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				_, err := conn.Read(buf)
				if err == io.EOF || (err != nil && !isTimeout(err)) {
					break
				}
				if time.Since(start) > 10*time.Second {
					t.Fatal("connection still open after 10s")
				}
			}
		})
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	testkit.Eventually(t, "server ready", 10*time.Second, func() bool {
		resp, err := http.Get(base + "/health/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func TestBadServerSettingsStopStartUp(t *testing.T) {
	t.Parallel()
	env := testkit.Env(testkit.Database(t), map[string]string{"HTTP_READ_TIMEOUT": "soon"})
	err := server.Run(context.Background(), probe(), env, "127.0.0.1:0", nil)
	if err == nil || !strings.Contains(err.Error(), "HTTP_READ_TIMEOUT") {
		t.Fatalf("got %v, want an error naming HTTP_READ_TIMEOUT", err)
	}
}

// HTTP_MAX_CONNS bounds the connections served at once: one more waits to
// be accepted until another closes, instead of taking a descriptor.
func TestConnectionsAreBounded(t *testing.T) {
	t.Parallel()
	base := testkit.Run(t, probe(), testkit.Env(testkit.Database(t), map[string]string{"HTTP_MAX_CONNS": "2"}))
	addr := strings.TrimPrefix(base, "http://")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("GET /health/liveness HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(make([]byte, 512)); err != nil { // answered, and kept alive
			t.Fatal(err)
		}
		held = append(held, c)
	}
	answered := make(chan int, 1)
	go func() {
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(base + "/health/liveness")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case code := <-answered:
		t.Fatalf("a third connection was served (%d) while two were open", code)
	case <-time.After(300 * time.Millisecond):
	}
	held[0].Close()
	select {
	case code := <-answered:
		if code != 200 {
			t.Fatalf("after one closed: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting connection was never served")
	}
}

// The Go runtime raises the soft open-file limit to the hard one at start;
// the bounds that default from it depend on that.
func TestOpenFileLimitIsRaised(t *testing.T) {
	t.Parallel()
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Skip(err)
	}
	if r.Max < 1<<62 && r.Cur+1 < r.Max { // an unlimited hard limit reads as all ones
		t.Fatalf("soft open-file limit %d, hard %d: not raised", r.Cur, r.Max)
	}
}

// DEBUG_ADDR serves the runtime profiles on their own listener only.
func TestDebugAddrServesProfilesApart(t *testing.T) {
	t.Parallel()
	debugAddr := testkit.FreeAddr(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	env := testkit.Env(testkit.Database(t), map[string]string{"DEBUG_ADDR": debugAddr})
	go func() { done <- server.Run(ctx, probe(), env, "", ln) }()
	base := "http://" + ln.Addr().String()
	waitReady(t, base)
	if code, body := get(t, "http://"+debugAddr+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("profiles on DEBUG_ADDR: %d %.200s", code, body)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code == 200 {
		t.Fatal("profiles served on the function's port")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + debugAddr + "/debug/pprof/"); err == nil {
		t.Fatal("profiles still served after shutdown")
	}

	err = server.Run(context.Background(), probe(), map[string]string{"DEBUG_ADDR": "6060"}, "127.0.0.1:0", nil)
	if err == nil || !strings.Contains(err.Error(), "DEBUG_ADDR") {
		t.Fatalf("bad DEBUG_ADDR: %v", err)
	}
}

// With SHUTDOWN_DELAY, a terminating function says it is not ready at once
// but goes on serving for the delay, so requests routed to it meanwhile
// are answered, then it stops.
func TestShutdownDelayDrainsBeforeClosing(t *testing.T) {
	t.Parallel()
	base, stop := serve(t, testkit.Env(testkit.Database(t), map[string]string{"SHUTDOWN_DELAY": "1s"}))
	stopped := time.Now()
	done := make(chan error, 1)
	go func() { done <- stop() }()
	time.Sleep(100 * time.Millisecond)
	if code, body := get(t, base+"/health/readiness"); code != 503 || !strings.Contains(body, "not ready") {
		t.Fatalf("readiness while draining: %d %s", code, body)
	}
	if code, _ := get(t, base+"/api/u/tasks"); code != 401 {
		t.Fatalf("a request while draining got %d, want it served (401 without a token)", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(stopped); waited < time.Second {
		t.Fatalf("stopped %v after the signal, before the 1s delay", waited)
	}
}

// A stream that waits on httpx.Draining ends when the shutdown begins, so
// Shutdown does not wait for it.
func TestShutdownEndsStreams(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(open)
		select {
		case <-httpx.Draining(r.Context()):
		case <-time.After(30 * time.Second):
		}
	})}
	server.EndStreamsOnShutdown(srv)
	go func() { _ = srv.Serve(ln) }()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-open
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown waited for the stream: %v", err)
	}
}
