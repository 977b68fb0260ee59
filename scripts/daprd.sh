#!/usr/bin/env bash
# Builds daprd (with the stable components, Kafka among them) from the Go
# module proxy, once, into ~/.cache/todo/daprd/<version>/daprd, and prints
# its path. dev/daprd/build/ is the wrapper module that pins dapr and the replace
# directives its go.mod needs. The first build takes 5 to 20 minutes.
set -euo pipefail
version=1.15.0
out=${XDG_CACHE_HOME:-$HOME/.cache}/todo/daprd/$version/daprd
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi
src=$(cd "$(dirname "$0")/../dev/daprd/build" && pwd)
mkdir -p "$(dirname "$out")"
echo "building daprd $version from the Go module proxy (5 to 20 minutes, once)..." >&2
(cd "$src" && GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags stablecomponents -o "$out.partial" github.com/dapr/dapr/cmd/daprd)
mv "$out.partial" "$out"
echo "$out"
