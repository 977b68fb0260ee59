#!/usr/bin/env bash
# Builds Prometheus's promtool from the Go module proxy, once, into
# ~/.cache/todo/promtool/<version>/promtool, and prints its path.
# dev/promtool/build/ is the module that pins Prometheus. The first build
# takes several minutes. k8s/check runs it on monitoring/alerts.yml:
# promtool check rules, and promtool test rules with alerts_test.yml.
set -euo pipefail
version=0.316.0
out=${XDG_CACHE_HOME:-$HOME/.cache}/todo/promtool/$version/promtool
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi
src=$(cd "$(dirname "$0")/../dev/promtool/build" && pwd)
mkdir -p "$(dirname "$out")"
echo "building promtool $version from the Go module proxy (once)..." >&2
(cd "$src" && GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$out.partial" github.com/prometheus/prometheus/cmd/promtool)
mv "$out.partial" "$out"
echo "$out"
