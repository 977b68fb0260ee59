package testkit

import (
	"net/http"
	"testing"
	"time"
)

// Serves waits until the function process at base is ready, then lists a
// new user's tasks through it and expects an empty list: the process
// reaches its database and checks tokens. what names it in failures.
func Serves(tb testing.TB, base, what string) {
	tb.Helper()
	Eventually(tb, what+" is ready", 20*time.Second, func() bool {
		resp, err := http.Get(base + "/health/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	user := User()
	req, _ := http.NewRequest("GET", base+"/api/"+user+"/tasks", nil)
	req.Header.Set("Authorization", "Bearer "+Token(tb, user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Total-Count") != "0" {
		tb.Fatalf("a list through %s: %d %v", what, resp.StatusCode, resp.Header)
	}
}
