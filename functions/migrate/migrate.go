// Package migrate is the schema migration the migrate Job (and image)
// runs: the goose migrations of github.com/todoevents/todo/migrations,
// applied to DATABASE_URL. It links nothing else of the repository.
package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/todoevents/todo/migrations"
)

// Usage is the command line it takes.
const Usage = "usage: migrate [up|down]   (DATABASE_URL names the database; up is the default)"

// Run applies every pending migration (up) or reverts them all (down) on
// the database at url.
func Run(ctx context.Context, url string, args []string) error {
	if url == "" {
		return errors.New("DATABASE_URL is required (postgres://user:pass@host:5432/db)")
	}
	direction := "up"
	if len(args) > 0 {
		direction = args[0]
	}
	if len(args) > 1 {
		return fmt.Errorf("one direction only\n%s", Usage)
	}
	switch direction {
	case "up":
		return migrations.Up(ctx, url)
	case "down":
		return migrations.DownAll(ctx, url)
	}
	return fmt.Errorf("%q is not up or down\n%s", direction, Usage)
}
