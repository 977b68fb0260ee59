package allinone_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/testkit"
)

// snapshot fingerprints every stored row, to prove rejected requests wrote
// nothing.
func snapshot(tb testing.TB) string {
	tb.Helper()
	var s string
	err := env.db.QueryRow(context.Background(), `SELECT
		coalesce((SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM tasks t), '') || '/' ||
		(SELECT count(*) FROM outbox)::text || '/' || (SELECT count(*) FROM processed_events)::text`).Scan(&s)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestMalformedRequestsChangeNothing sends every endpoint a catalogue of bad
// requests and checks each gets a 4xx JSON error and the database is as it
// was.
func TestMalformedRequestsChangeNothing(t *testing.T) {
	user := testkit.User()
	tok := testkit.Token(t, user)
	id := createTask(t, user, `{"title":"target","recurring_type":"daily"}`)["id"].(string)
	settle(t, user)
	expired, _ := testkit.SignToken([]byte(testkit.Secret), user, time.Now().Add(-48*time.Hour), time.Hour)
	foreign, _ := testkit.SignToken([]byte("not-the-secret-not-the-secret-00"), user, time.Now(), time.Hour)
	other := testkit.Token(t, testkit.User())
	list, one, done := "/api/"+user+"/tasks", "/api/"+user+"/tasks/"+id, "/api/"+user+"/tasks/"+id+"/complete"
	huge := `{"title":"` + strings.Repeat("x", 70_000) + `"}`
	injections := []string{`'; DROP TABLE tasks; --`, `<script>alert(1)</script>`, `{{7*7}}`, `../../etc/passwd`, "\u202e"}

	type req struct{ name, method, path, token, body string }
	var cases []req
	for _, ep := range []struct{ method, path, good string }{
		{"POST", list, `{"title":"ok"}`}, {"PATCH", done, `{"completed":false}`}, {"GET", list, ""}, {"GET", one, ""},
	} {
		cases = append(cases,
			req{"no token", ep.method, ep.path, "", ep.good},
			req{"expired token", ep.method, ep.path, expired, ep.good},
			req{"foreign signature", ep.method, ep.path, foreign, ep.good},
			req{"another user's token", ep.method, ep.path, other, ep.good},
			req{"garbage token", ep.method, ep.path, "a.b.c", ep.good},
		)
		if ep.method == "GET" {
			continue
		}
		cases = append(cases,
			req{"bad JSON", ep.method, ep.path, tok, `{"title":`},
			req{"invalid UTF-8", ep.method, ep.path, tok, "{\"title\":\"\xff\xfe\xfd\"}"},
			req{"huge body", ep.method, ep.path, tok, huge},
			req{"array body", ep.method, ep.path, tok, `[{"title":"x"}]`},
			req{"unknown field", ep.method, ep.path, tok, `{"title":"x","completed":true,"admin":true}`},
			req{"wrong types", ep.method, ep.path, tok, `{"title":["x"],"completed":"yes","tags":"a"}`},
			req{"null title", ep.method, ep.path, tok, `{"title":null,"completed":null}`},
		)
	}
	for _, s := range injections {
		cases = append(cases,
			req{"injection in user path " + s, "GET", "/api/" + strings.ReplaceAll(s, " ", "%20") + "/tasks", tok, ""},
			req{"injection in id " + s, "GET", list + "/" + strings.ReplaceAll(s, " ", "%20"), tok, ""},
			req{"injection in status filter " + s, "GET", list + "?status=" + strings.ReplaceAll(s, " ", "%20"), tok, ""},
			req{"injection in priority " + s, "POST", list, tok, `{"title":"x","priority":"` + strings.ReplaceAll(s, `"`, `\"`) + `"}`},
			req{"injection in time zone " + s, "POST", list, tok, `{"title":"x","timezone":"` + s + `"}`},
		)
	}
	longUser := strings.Repeat("u", 300)
	longTok := testkit.Token(t, longUser)
	cases = append(cases,
		req{"user id too long", "POST", "/api/" + longUser + "/tasks", longTok, `{"title":"x"}`},
		req{"user id with NUL", "POST", "/api/a%00b/tasks", testkit.Token(t, "a\x00b"), `{"title":"x"}`},
		req{"unknown task", "PATCH", "/api/" + user + "/tasks/" + uuid.NewString() + "/complete", tok, ""},
		req{"wrong method on list", "DELETE", list, tok, ""},
		req{"wrong method on task", "POST", one, tok, `{}`},
		req{"wrong method on complete", "PUT", done, tok, `{}`},
		req{"unknown route", "GET", "/api/" + user + "/projects", tok, ""},
		req{"title too long", "POST", list, tok, `{"title":"` + strings.Repeat("é", 201) + `"}`},
		req{"numeric title", "POST", list, tok, `{"title":12}`},
	)
	before := snapshot(t)
	for _, c := range cases {
		r := call(t, c.method, c.path, c.token, []byte(c.body))
		if r.status < 400 || r.status >= 500 {
			t.Errorf("%s %s %s: status %d, want 4xx: %s", c.name, c.method, c.path, r.status, r.body)
			continue
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		r.json(t, &body)
		if body.Error.Code == "" || body.Error.Message == "" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: not a JSON error: %s", c.name, r.body)
		}
	}
	if after := snapshot(t); after != before {
		t.Fatalf("rejected requests changed the database: %s -> %s", before, after)
	}
	t.Logf("%d malformed requests rejected with 4xx JSON, database unchanged", len(cases))
}
