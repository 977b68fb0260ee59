// Package logging sets up zerolog: JSON lines to stdout in production,
// human-readable console output when LOG_FORMAT=console.
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// New returns a logger writing to w in format ("json" or "console") at level
// ("debug", "info", "warn", "error"), tagged with the component name.
func New(w io.Writer, format, level, component string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", level)
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	default:
		return zerolog.Nop(), fmt.Errorf("LOG_FORMAT: %q is not json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Str("component", component).Logger(), nil
}

// Stdout is New writing to standard output.
func Stdout(format, level, component string) (zerolog.Logger, error) {
	return New(os.Stdout, format, level, component)
}
