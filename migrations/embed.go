// Package migrations holds the database schema as goose SQL migrations,
// embedded so that binaries and tests apply exactly what is in the repository.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
