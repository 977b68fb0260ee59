package function

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/webhook"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// testSecret is a signing secret for webhooks stored around the API.
const testSecret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM="

// received is one request a receiver got.
type received struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Secret  string            `json:"secret"`
}

// receiver is a webhook endpoint on loopback that answers each request
// with the next status of answers (the last repeating) and keeps what it
// got.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	answers []int
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	t.Helper()
	r := &receiver{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := r.answers[min(len(r.got), len(r.answers)-1)]
		r.got = append(r.got, received{Body: string(body), Headers: map[string]string{
			"webhook-id": req.Header.Get("webhook-id"), "webhook-timestamp": req.Header.Get("webhook-timestamp"),
			"webhook-signature": req.Header.Get("webhook-signature"), "content-type": req.Header.Get("Content-Type")}})
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, strings.Repeat("x", 4096)) // more than is read
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func register(t *testing.T, f *Notify, user, url string, events ...string) (int, webhook.Webhook) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"url": url, "events": events})
	rec := testkit.Do(t, f, "POST", "/api/"+user+"/webhooks", testkit.Token(t, user), body)
	var w webhook.Webhook
	if rec.Code == http.StatusCreated {
		testkit.Decode(t, rec, &w)
	}
	return rec.Code, w
}

func enqueue(t *testing.T, st *store.Store, user, name string) webhook.Event {
	t.Helper()
	data := fmt.Sprintf(`{"task_id":%q,"user_id":%q,"title":"Pay rent"}`, uuid.NewString(), user)
	payload, err := webhook.Payload(name, time.Now(), json.RawMessage(data))
	if err != nil {
		t.Fatal(err)
	}
	e := webhook.Event{ID: uuid.NewString(), UserID: user, Type: name, Time: time.Now(), Payload: payload}
	if _, err := st.EnqueueDeliveries(context.Background(), []webhook.Event{e}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return e
}

// The registration refuses every address a webhook may not reach, in each
// spelling: the metadata address, unspecified, loopback (by name too),
// private, link-local, multicast, decimal, hex and IPv4-mapped forms;
// WEBHOOK_ALLOW_PRIVATE lets private ranges through and nothing else.
func TestRegistrationRefusesUnsafeAddresses(t *testing.T) {
	t.Parallel()
	strict := testkit.Start(t, New(), nil)
	private := testkit.Start(t, New(), map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	user := testkit.User()
	refused := []string{
		"http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/",
		"http://0.0.0.0:8080/", "http://[::]/", "http://[::1]:8080/", "http://127.0.0.1/", "http://127.8.9.10/",
		"http://2130706433/", "http://0x7f000001/", "http://0x7f.1/", "http://017700000001/", "http://[::ffff:127.0.0.1]/",
		"http://[::ffff:7f00:1]/", "http://localhost:8080/", "http://LOCALHOST./", "http://10.0.0.1/", "http://192.168.1.1/",
		"http://172.16.0.1/", "http://[fd00::1]/", "http://224.0.0.1/", "http://[ff02::1]/", "http://100.64.0.1/",
		"http://255.255.255.255/", "http://no-such-host.invalid/",
	}
	for _, url := range refused {
		code, _ := register(t, strict, user, url, webhook.TaskReminder)
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", url, code)
		}
	}
	st := strict.Runtime().Store
	if n := testkit.Count(t, st.Pool, `SELECT count(*) FROM webhooks`); n != 0 {
		t.Fatalf("%d refused webhooks stored", n)
	}
	for url, want := range map[string]int{"http://10.0.0.1/": 201, "http://[fd00::1]/": 201, "http://192.168.1.1:9000/x": 201,
		"http://169.254.169.254/": 400, "http://[fe80::1]/": 400, "http://127.0.0.1/": 400, "http://0.0.0.0/": 400} {
		if code, _ := register(t, private, user, url, webhook.TaskReminder); code != want {
			t.Errorf("with private ranges allowed, %s: %d, want %d", url, code, want)
		}
	}
	if code, w := register(t, strict, user, "https://93.184.216.34/hooks", webhook.TaskReminder); code != 201 || w.URL != "https://93.184.216.34/hooks" {
		t.Fatalf("a public address: %d %+v", code, w)
	}
}

// The API: the secret once, a user's webhooks theirs alone, clear 4xx for
// bad input, the per-user bound, deletion.
func TestWebhookAPI(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), map[string]string{"WEBHOOK_ALLOW_LOOPBACK": "true"})
	user, other := testkit.User(), testkit.User()
	tok := testkit.Token(t, user)
	code, w := register(t, f, user, "http://127.0.0.1:9/hook", webhook.TaskReminder, webhook.TaskCompleted)
	if code != 201 || !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) != len("whsec_")+44 || w.State != webhook.Active ||
		strings.Join(w.Events, ",") != "task.completed,task.reminder" {
		t.Fatalf("created: %d %+v", code, w)
	}
	base := "/api/" + user + "/webhooks"
	for _, path := range []string{base, base + "/" + w.ID} {
		rec := testkit.Do(t, f, "GET", path, tok, nil)
		if rec.Code != 200 || strings.Contains(rec.Body.String(), w.Secret) || strings.Contains(rec.Body.String(), "secret") {
			t.Fatalf("GET %s: %d %s (the secret is shown once)", path, rec.Code, rec.Body)
		}
	}
	for _, c := range []struct {
		method, path, token, body string
		want                      int
		field                     string
	}{
		{"GET", "/api/" + other + "/webhooks/" + w.ID, testkit.Token(t, other), "", 404, ""},
		{"DELETE", "/api/" + other + "/webhooks/" + w.ID, testkit.Token(t, other), "", 404, ""},
		{"GET", "/api/" + other + "/webhooks/" + w.ID + "/deliveries", testkit.Token(t, other), "", 404, ""},
		{"GET", base, testkit.Token(t, other), "", 403, ""},
		{"GET", base, "", "", 401, ""},
		{"POST", base, "", `{"url":"http://127.0.0.1:9/","events":["task.created"]}`, 401, ""},
		{"GET", base + "/not-a-uuid", tok, "", 404, ""},
		{"GET", base + "/" + w.ID + "/deliveries?limit=0", tok, "", 400, "limit"},
		{"GET", base + "/" + w.ID + "/deliveries?limit=201", tok, "", 400, "limit"},
		{"GET", base + "/" + w.ID + "/deliveries?offset=3", tok, "", 400, "offset"},
		{"GET", base + "?x=1", tok, "", 400, "x"},
		{"POST", base, tok, `{"url":"http://127.0.0.1:9/","events":["task.exploded"]}`, 400, "events"},
		{"POST", base, tok, `{"url":"http://127.0.0.1:9/","events":[]}`, 400, "events"},
		{"POST", base, tok, `{"url":"http://127.0.0.1:9/"}`, 400, "events"},
		{"POST", base, tok, `{"events":["task.created"]}`, 400, "url"},
		{"POST", base, tok, `{"url":"ftp://127.0.0.1/","events":["task.created"]}`, 400, "url"},
		{"POST", base, tok, `{"url":"http://127.0.0.1:9/","events":["task.created"],"secret":"mine"}`, 400, "secret"},
		{"POST", base, tok, `{"url":7}`, 400, "url"},
		{"POST", base, tok, `[`, 400, ""},
	} {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		rec := testkit.Do(t, f, c.method, c.path, c.token, body)
		if _, field := testkit.ErrorCode(t, rec, c.want); field != c.field {
			t.Errorf("%s %s %s: field %q, want %q", c.method, c.path, c.body, field, c.field)
		}
	}
	for i := 1; i < webhook.MaxPerUser; i++ {
		if code, _ := register(t, f, user, fmt.Sprintf("http://127.0.0.1:9/%d", i), webhook.TaskCreated); code != 201 {
			t.Fatalf("webhook %d: %d", i+1, code)
		}
	}
	if code, _ := register(t, f, user, "http://127.0.0.1:9/one-more", webhook.TaskCreated); code != http.StatusConflict {
		t.Fatalf("webhook %d: %d, want 409", webhook.MaxPerUser+1, code)
	}
	if rec := testkit.Do(t, f, "DELETE", base+"/"+w.ID, tok, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := testkit.Do(t, f, "GET", base+"/"+w.ID, tok, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("after delete: %d", rec.Code)
	}
}

// A delivery to an address the policy refuses is never sent, whatever the
// registration saw (a name that resolved elsewhere then, a row written
// around the API): the dialer refuses the connection and the delivery
// says so.
func TestConnectTimeRefusal(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), map[string]string{"WEBHOOK_RETRY_DELAYS": "1h"})
	st := f.Runtime().Store
	rcv := newReceiver(t, 200)
	user := testkit.User()
	port := rcv.URL[strings.LastIndex(rcv.URL, ":"):]
	var hooks []webhook.Webhook
	for _, url := range []string{rcv.URL + "/by-address", "http://localhost" + port + "/by-name"} {
		w, err := st.CreateWebhook(context.Background(), webhook.Webhook{ID: uuid.NewString(), UserID: user, URL: url,
			Events: []string{webhook.TaskReminder}, Secret: testSecret, CreatedAt: time.Now().Add(-time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, w)
	}
	enqueue(t, st, user, webhook.TaskReminder)
	f.Sender.Wake()
	for _, w := range hooks {
		var d webhook.Delivery
		testkit.Eventually(t, "the refused attempt recorded", 10*time.Second, func() bool {
			list, err := st.ListDeliveries(context.Background(), user, w.ID, 1)
			if err != nil || len(list) == 0 {
				return false
			}
			d = list[0]
			return d.Attempts == 1
		})
		if d.State != webhook.Pending || d.LastStatus != nil || !strings.Contains(d.LastError, "refused to connect") ||
			!strings.Contains(d.LastError, "127.0.0.1") && !strings.Contains(d.LastError, "::1") {
			t.Fatalf("%s: %+v", w.URL, d)
		}
	}
	if got := rcv.requests(); len(got) != 0 {
		t.Fatalf("the loopback receiver got %d requests", len(got))
	}
}

// A receiver that fails twice gets the same webhook-id three times, each
// signed as the Standard Webhooks reference library verifies (and a
// wrong secret does not verify); redirects are failures, not followed.
func TestRetriesKeepTheWebhookID(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), map[string]string{"WEBHOOK_ALLOW_LOOPBACK": "true", "WEBHOOK_RETRY_DELAYS": "100ms"})
	st := f.Runtime().Store
	rcv := newReceiver(t, 500, 503, 204)
	user := testkit.User()
	code, w := register(t, f, user, rcv.URL+"/hook?k=v", webhook.TaskReminder)
	if code != 201 {
		t.Fatal(code)
	}
	e := enqueue(t, st, user, webhook.TaskReminder)
	f.Sender.Wake()
	testkit.Eventually(t, "three attempts", 20*time.Second, func() bool { return len(rcv.requests()) >= 3 })
	var list struct{ Deliveries []webhook.Delivery }
	testkit.Eventually(t, "the delivery recorded as delivered", 10*time.Second, func() bool {
		rec := testkit.Do(t, f, "GET", "/api/"+user+"/webhooks/"+w.ID+"/deliveries", testkit.Token(t, user), nil)
		testkit.Decode(t, rec, &list)
		return len(list.Deliveries) == 1 && list.Deliveries[0].State == webhook.Delivered
	})
	d := list.Deliveries[0]
	if d.Attempts != 3 || *d.LastStatus != 204 || d.LastError != "" || d.EventID != e.ID || d.Type != webhook.TaskReminder {
		t.Fatalf("delivery: %+v", d)
	}
	got := rcv.requests()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	for _, r := range got {
		if r.Headers["webhook-id"] != d.ID || !strings.HasPrefix(d.ID, "msg_") || r.Body != string(e.Payload) ||
			r.Headers["content-type"] != "application/json" {
			t.Fatalf("request %+v, want webhook-id %s and the payload", r, d.ID)
		}
	}
	for i := range got {
		got[i].Secret = w.Secret
	}
	wrong := got[0]
	wrong.Secret = "whsec_" + strings.Repeat("B", 43) + "="
	tampered := got[1]
	tampered.Body = strings.Replace(tampered.Body, "Pay rent", "Pay rant", 1)
	verdicts := verifyWithReference(t, append(got, wrong, tampered))
	if strings.Join(verdicts[:3], ",") != "ok,ok,ok" || verdicts[3] == "ok" || verdicts[4] == "ok" {
		t.Fatalf("the reference verifier says %q, want ok for the three deliveries and a refusal for a wrong secret and a changed body", verdicts)
	}
	m := testkit.Scrape(t, f.Metrics())
	for _, want := range []string{`todo_webhook_deliveries_total{outcome="delivered"} 1`, `todo_webhook_deliveries_total{outcome="failed_attempt"} 2`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// verifyWithReference verifies deliveries with the Standard Webhooks
// library for Python (testdata/verify.py), installed once from PyPI under
// the user's cache directory.
func verifyWithReference(t *testing.T, deliveries []received) []string {
	t.Helper()
	lib := referenceLibrary(t)
	in, _ := json.Marshal(deliveries)
	cmd := exec.Command("python3", "testdata/verify.py")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+lib)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("verify.py: %v\n%s", err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// referenceVersion is the Standard Webhooks Python library the signatures
// are verified with.
const referenceVersion = "1.1.0"

func referenceLibrary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "todo", "python-standardwebhooks-"+referenceVersion)
	if _, err := os.Stat(filepath.Join(dir, "standardwebhooks")); err == nil {
		return dir
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".install-")
	if err != nil {
		if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
			tmp, err = os.MkdirTemp(filepath.Dir(dir), ".install-")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
		"--target", tmp, "standardwebhooks=="+referenceVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing the reference verifier (standardwebhooks %s from PyPI): %v\n%s", referenceVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(filepath.Join(dir, "standardwebhooks")); statErr != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A slow endpoint holds its own slot, never another webhook's: while one
// user's endpoint keeps a delivery waiting, a delivery queued afterwards
// for another user's webhook is sent.
func TestASlowEndpointHoldsNoOneElse(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), map[string]string{"WEBHOOK_ALLOW_LOOPBACK": "true", "WEBHOOK_TIMEOUT": "30s"})
	st := f.Runtime().Store
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	defer slow.Close()
	defer close(release)
	fast := newReceiver(t, 204)
	slowUser, fastUser := testkit.User(), testkit.User()
	if code, _ := register(t, f, slowUser, slow.URL, webhook.TaskReminder); code != 201 {
		t.Fatal(code)
	}
	if code, _ := register(t, f, fastUser, fast.URL, webhook.TaskReminder); code != 201 {
		t.Fatal(code)
	}
	enqueue(t, st, slowUser, webhook.TaskReminder)
	f.Sender.Wake()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow endpoint got nothing")
	}
	enqueue(t, st, fastUser, webhook.TaskReminder)
	f.Sender.Wake()
	testkit.Eventually(t, "the other webhook's delivery while the slow one waits", 5*time.Second, func() bool { return len(fast.requests()) == 1 })
}
