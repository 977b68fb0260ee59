package openapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// Every path under /api/{user_id}/tasks, /tags and /recurrence has its
// twin without the user segment (acting for the token's subject), with the
// same operations, and the twin has no user_id parameter.
func TestEveryUserRouteHasItsTwin(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(Document, &doc); err != nil {
		t.Fatal(err)
	}
	methods := func(item map[string]json.RawMessage) []string {
		var out []string
		for m := range item {
			if m != "parameters" {
				out = append(out, m)
			}
		}
		slices.Sort(out)
		return out
	}
	twins := 0
	for path, item := range doc.Paths {
		rest, ok := strings.CutPrefix(path, "/api/{user_id}/")
		if !ok || !slices.Contains([]string{"tasks", "tags", "recurrence"}, strings.Split(rest, "/")[0]) {
			continue
		}
		twin, ok := doc.Paths["/api/"+rest]
		if !ok {
			t.Errorf("%s has no twin /api/%s", path, rest)
			continue
		}
		if !slices.Equal(methods(item), methods(twin)) {
			t.Errorf("/api/%s has %v, %s %v", rest, methods(twin), path, methods(item))
		}
		if strings.Contains(string(twin["parameters"]), "UserID") {
			t.Errorf("/api/%s takes a user_id", rest)
		}
		twins++
	}
	if twins < 9 {
		t.Fatalf("only %d twins", twins)
	}
}
