package function

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func seed(tb testing.TB, f *ReadTasks, user, title string, status task.Status) string {
	tb.Helper()
	return testkit.Seed(tb, f.Runtime().Store, user, task.Draft{Title: &title, Status: &status}).ID
}

func titles(tb testing.TB, f *ReadTasks, user, query string) []string {
	tb.Helper()
	rec := testkit.Do(tb, f, "GET", "/api/"+user+"/tasks"+query, testkit.Token(tb, user), nil)
	if rec.Code != http.StatusOK {
		tb.Fatalf("status %d %s", rec.Code, rec.Body)
	}
	var list List
	testkit.Decode(tb, rec, &list)
	out := []string{}
	for _, t := range list.Tasks {
		out = append(out, t.Title)
	}
	return out
}

func TestListFiltersAndOrder(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	user := testkit.User()
	seed(t, f, user, "first", task.StatusPending)
	seed(t, f, user, "second", task.StatusInProgress)
	seed(t, f, user, "third", task.StatusDone)
	seed(t, f, testkit.User(), "someone else's", task.StatusPending)
	cases := map[string][]string{
		"":                    {"third", "second", "first"},
		"?status=all":         {"third", "second", "first"},
		"?status=pending":     {"second", "first"},
		"?status=in_progress": {"second"},
		"?status=completed":   {"third"},
		"?status=done":        {"third"},
		"?limit=1":            {"third"},
	}
	for q, want := range cases {
		got := titles(t, f, user, q)
		if len(got) != len(want) {
			t.Fatalf("%q: got %v, want %v", q, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%q: got %v, want %v", q, got, want)
			}
		}
	}
	if got := titles(t, f, testkit.User(), ""); len(got) != 0 {
		t.Fatalf("new user sees %v", got)
	}
}

func TestGetAndAccess(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	alice, bob := testkit.User(), testkit.User()
	id := seed(t, f, alice, "mine", task.StatusPending)
	rec := testkit.Do(t, f, "GET", "/api/"+alice+"/tasks/"+id, testkit.Token(t, alice), nil)
	var got map[string]any
	testkit.Decode(t, rec, &got)
	if rec.Code != http.StatusOK || got["id"] != id || got["completed"] != false {
		t.Fatalf("get: %d %v", rec.Code, got)
	}
	cases := []struct {
		name, path, user string
		status           int
	}{
		{"another user's task", "/api/" + bob + "/tasks/" + id, bob, 404},
		{"another user's path", "/api/" + alice + "/tasks/" + id, bob, 403},
		{"another user's list", "/api/" + alice + "/tasks", bob, 403},
		{"no token", "/api/" + alice + "/tasks", "", 401},
		{"unknown id", "/api/" + alice + "/tasks/" + uuid.NewString(), alice, 404},
		{"id not a UUID", "/api/" + alice + "/tasks/abc", alice, 404},
		{"bad status filter", "/api/" + alice + "/tasks?status=archived", alice, 400},
		{"bad limit", "/api/" + alice + "/tasks?limit=0", alice, 400},
		{"limit not a number", "/api/" + alice + "/tasks?limit=ten", alice, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			if tc.user != "" {
				tok = testkit.Token(t, tc.user)
			}
			testkit.ErrorCode(t, testkit.Do(t, f, "GET", tc.path, tok, nil), tc.status)
		})
	}
}

// TestBetterAuthTokens starts the function with only BETTER_AUTH_URL, as a
// deployment behind a Better Auth frontend: its EdDSA tokens from the JWKS
// at /api/auth/jwks are accepted, with iss and aud the site's URL.
func TestBetterAuthTokens(t *testing.T) {
	t.Parallel()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1", ALG: jwkset.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	set := jwkset.NewMemoryStorage()
	if err := set.KeyWrite(context.Background(), jwk); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/auth/jwks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := set.JSONPublic(r.Context())
		_, _ = w.Write(body)
	})
	site := httptest.NewServer(mux)
	defer site.Close()
	f := testkit.Start(t, New(), map[string]string{"BETTER_AUTH_URL": site.URL, "AUTH_JWT_SECRET": ""})
	user := testkit.User()
	token := func(iss string, signer ed25519.PrivateKey) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": user, "iss": iss, "aud": site.URL,
			"iat": time.Now().Unix(), "exp": time.Now().Add(15 * time.Minute).Unix(), "email": "a@example.com"})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if rec := testkit.Do(t, f, "GET", "/api/"+user+"/tasks", token(site.URL, key), nil); rec.Code != http.StatusOK {
		t.Fatalf("Better Auth token: %d %s", rec.Code, rec.Body)
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	for name, tok := range map[string]string{
		"another issuer":     token("https://elsewhere.example", key),
		"another key":        token(site.URL, stranger),
		"an HS256 dev token": testkit.Token(t, user),
	} {
		if rec := testkit.Do(t, f, "GET", "/api/"+user+"/tasks", tok, nil); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
}
