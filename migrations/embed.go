// Package migrations holds the database schema as goose SQL migrations,
// embedded so that the migrate command, the migration Job and tests apply
// exactly what is in the repository.
package migrations

import (
	"context"
	"database/sql"
	"embed"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS

// Up applies every pending migration to the database at url.
func Up(ctx context.Context, url string) error {
	return withProvider(url, func(p *goose.Provider) error {
		_, err := p.Up(ctx)
		return err
	})
}

// DownAll reverts every migration (used by tests of Down).
func DownAll(ctx context.Context, url string) error {
	return withProvider(url, func(p *goose.Provider) error {
		_, err := p.DownTo(ctx, 0)
		return err
	})
}

func withProvider(url string, fn func(*goose.Provider) error) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer func(db *sql.DB) { _ = db.Close() }(db)
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS)
	if err != nil {
		return err
	}
	return fn(p)
}
