package migrate

import (
	"context"
	"strings"
	"testing"
)

// What the command line can get wrong is refused before any database is
// touched. (The migrations themselves are tested on PostgreSQL with the
// store, shared/store's schema tests, and through todo migrate.)
func TestRunRefusesBadCommandLines(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{"": "DATABASE_URL", "sideways": "not up or down", "up down": "one direction"} {
		url := "postgres://nowhere/db"
		if args == "" {
			url = ""
		}
		err := Run(context.Background(), url, strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", args, err, want)
		}
	}
}
