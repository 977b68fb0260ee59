//go:build tools

// Package promtoolbuild pins Prometheus for scripts/promtool.sh, which
// builds promtool from it.
package promtoolbuild

import _ "github.com/prometheus/prometheus/cmd/promtool"
