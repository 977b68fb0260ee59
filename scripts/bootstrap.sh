#!/usr/bin/env bash
# Installs the system packages `make run` or `make test` need and Go cannot
# fetch itself, so both work on a fresh machine. As root on Debian/Ubuntu it
# installs what is missing with apt-get; otherwise it prints what to install
# and stops before anything runs. For the tests it also builds daprd and
# kube-apiserver once (scripts/daprd.sh, scripts/kube-apiserver.sh).
# PostgreSQL and the Kafka broker's jars are not needed here: the code
# downloads them (verified) into ~/.cache.
#
# usage: scripts/bootstrap.sh run|test
set -euo pipefail
target=${1:-test}
case "$target" in run | test) ;; *)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac

if ! command -v go >/dev/null; then
	echo "bootstrap: Go 1.26 or newer is required and not on PATH; install it first." >&2
	exit 1
fi

# java_major prints the major version of the java on PATH (0 when none).
java_major() {
	command -v java >/dev/null || { echo 0; return; }
	local v
	v=$(java -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
	[ "$v" = 1 ] && v=8 # 1.8 is Java 8
	echo "${v:-0}"
}

packages=() # Debian package names
if [ "$target" = test ] && [ "$(java_major)" -lt 17 ]; then
	packages+=(openjdk-17-jre-headless) # the real Kafka broker of the end-to-end tier
fi
if [ "$target" = test ] && ! command -v etcd >/dev/null; then
	packages+=(etcd-server) # the store of the API server that validates k8s/
fi
if [ "$target" = test ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
	packages+=(chromium) # the headless browser that tests the web app
fi
if [ "$target" = test ] && ! python3 -m pip --version >/dev/null 2>&1; then
	packages+=(python3-pip) # installs the Standard Webhooks reference verifier the webhook tests use
fi

root=false
[ "$(id -u)" = 0 ] && root=true

if [ ${#packages[@]} -gt 0 ]; then
	if $root && command -v apt-get >/dev/null; then
		echo "bootstrap: installing ${packages[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
	else
		echo "bootstrap: missing: ${packages[*]}" >&2
		echo "  Debian/Ubuntu: sudo apt-get install ${packages[*]}" >&2
		echo "  macOS:         brew install openjdk@17" >&2
		echo "then run the command again." >&2
		exit 1
	fi
fi

# The end-to-end tier runs real Dapr sidecars, and the manifests are
# validated by a real API server: build daprd and kube-apiserver once
# (cached), and check kubectl is there.
if [ "$target" = test ]; then
	bash "$(dirname "$0")/daprd.sh" >/dev/null
	bash "$(dirname "$0")/daprd.sh" scheduler >/dev/null
	bash "$(dirname "$0")/kube-apiserver.sh" >/dev/null
	if ! command -v kubectl >/dev/null; then
		echo "bootstrap: kubectl (1.30 or newer) is needed to validate k8s/; install it (https://kubernetes.io/docs/tasks/tools/)." >&2
		exit 1
	fi
fi

# PostgreSQL refuses to run as root: local clusters run as 'postgres'.
if $root && ! id postgres >/dev/null 2>&1; then
	if command -v useradd >/dev/null; then
		useradd --system --home-dir /var/lib/postgresql --no-create-home --shell /usr/sbin/nologin postgres
	else
		echo "bootstrap: running as root needs a 'postgres' user to own the local PostgreSQL clusters; create one." >&2
		exit 1
	fi
fi
