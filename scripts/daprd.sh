#!/usr/bin/env bash
# Builds daprd (with the stable components, Kafka among them), or with
# "scheduler" the Dapr scheduler (the Jobs API's store and clock), from the
# Go module proxy, once, into ~/.cache/todo/<name>/<version>/, and prints
# its path. dev/daprd/build/ is the wrapper module that pins dapr and the
# replace directives its go.mod needs. The first daprd build takes 5 to 20
# minutes; the scheduler then about one more.
set -euo pipefail
version=1.15.0
what=${1:-daprd}
case "$what" in
daprd) dir=daprd pkg=github.com/dapr/dapr/cmd/daprd tags=stablecomponents ;;
scheduler) dir=dapr-scheduler pkg=github.com/dapr/dapr/cmd/scheduler tags= ;;
*) echo "usage: $0 [daprd|scheduler]" >&2; exit 2 ;;
esac
out=${XDG_CACHE_HOME:-$HOME/.cache}/todo/$dir/$version/$what
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi
src=$(cd "$(dirname "$0")/../dev/daprd/build" && pwd)
mkdir -p "$(dirname "$out")"
echo "building $what $version from the Go module proxy (once)..." >&2
(cd "$src" && GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags "$tags" -o "$out.partial" "$pkg")
mv "$out.partial" "$out"
echo "$out"
