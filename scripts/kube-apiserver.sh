#!/usr/bin/env bash
# Builds kube-apiserver from the Go module proxy, once, into
# ~/.cache/todo/kubernetes/<version>/kube-apiserver, and prints its path.
# k8s/check/apiserver/ is the module that pins k8s.io/kubernetes and its
# staging modules. The first build takes about 10 minutes on 2 cores. The
# manifest tests run it on etcd to validate k8s/ as a cluster would.
set -euo pipefail
version=1.36.3
out=${XDG_CACHE_HOME:-$HOME/.cache}/todo/kubernetes/$version/kube-apiserver
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi
src=$(cd "$(dirname "$0")/../k8s/check/apiserver" && pwd)
mkdir -p "$(dirname "$out")"
echo "building kube-apiserver $version from the Go module proxy (about 10 minutes, once)..." >&2
(cd "$src" && GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$out.partial" k8s.io/kubernetes/cmd/kube-apiserver)
mv "$out.partial" "$out"
echo "$out"
