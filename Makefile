# The todo event backend. `make run` starts everything; `make test` tests everything.
SHELL := /bin/bash
GO ?= go
FUNCTIONS := create-task complete-task skip-task read-tasks update-task delete-task recur-task live-updates notify migrate
# Every package of the workspace (go.work): the root module, shared, and each function's module.
PKGS := ./... ./migrations/... ./shared/... $(foreach f,$(FUNCTIONS),./functions/$(f)/...)
TOOLS := $(HOME)/.cache/todo-tools
STATICCHECK := $(TOOLS)/staticcheck
STATICCHECK_VERSION := v0.8.2
ACTIONLINT := $(TOOLS)/actionlint
ACTIONLINT_VERSION := v1.7.12

.PHONY: all help build images bench soak bootstrap traces run run-dapr migrate test e2e fuzz unit lint fmt tidy tools clean

all: build

## help: this list of targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST) | sed -e 's/\$$\$$/$$/g' -e '/^[a-z0-9-]*:/!s/^/    /'

## build: every function binary, the migration binary and the development command todo into bin/
build:
	@mkdir -p bin
	@for f in $(FUNCTIONS); do $(GO) build -o bin/$$f ./functions/$$f/cmd || exit 1; done
	$(GO) build -o bin/todo ./cmd/todo

## images: each function's image (static binary, empty base, non-root) as a tarball in dist/images, without Docker
REGISTRY ?= registry.example.com/todo
images:
	$(GO) run ./dev/image/build -out dist/images -registry $(REGISTRY)

## bootstrap: install (as root on Debian/Ubuntu) or name the system packages the tests need
bootstrap:
	@bash scripts/bootstrap.sh test

## traces: print each trace the system exports, as a tree (run it with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318)
traces:
	$(GO) build -o bin/todo ./cmd/todo
	./bin/todo traces

## run: the whole system on http://localhost:$${PORT:-8080} (embedded PostgreSQL and broker unless DATABASE_URL / KAFKA_BROKERS)
run:
	@bash scripts/bootstrap.sh run
	$(GO) build -o bin/todo ./cmd/todo
	./bin/todo run

## run-dapr: the same, every function behind its own real daprd (built once, cached under ~/.cache)
run-dapr:
	@bash scripts/bootstrap.sh run
	@bash scripts/daprd.sh >/dev/null
	@bash scripts/daprd.sh scheduler >/dev/null
	$(GO) build -o bin/todo ./cmd/todo
	./bin/todo run-dapr

## migrate: apply migrations to $$DATABASE_URL (the binary of the migrate image and Job)
migrate:
	@test -n "$$DATABASE_URL" || { echo "DATABASE_URL is required" >&2; exit 2; }
	$(GO) build -o bin/migrate ./functions/migrate/cmd
	./bin/migrate up

## test: bootstrap, lint, then every test with the race detector: unit, integration (private PostgreSQL,
## kfake), end-to-end (function binaries, a real Kafka broker, fault injection), fuzz seed corpora
test: bootstrap lint
	$(GO) test -race -count=1 -timeout 25m $(PKGS)
	cd k8s/check && KUBE_APISERVER=$$(bash ../../scripts/kube-apiserver.sh) PROMTOOL=$$(bash ../../scripts/promtool.sh) \
		GOWORK=off $(GO) test -count=1 ./...

## e2e: only the end-to-end tier on the real broker (E2E_REPORT=file collects its counts)
e2e: bootstrap
	$(GO) test -count=1 -v -timeout 20m ./e2e/

## soak: the cluster tier under steady load for SOAK (default 30m); writes docs/soak.md (growth of memory, goroutines, tables, WAL)
SOAK ?= 30m
soak: bootstrap
	SOAK=$(SOAK) SOAK_REPORT=$(CURDIR)/docs/soak.md $(GO) test -count=1 -v -timeout 3h -run '^TestSoak$$' ./e2e/

## bench: measure on the real stack against baselines in the same run; writes docs/benchmarks.{md,json,png}
bench: bootstrap
	$(GO) run ./dev/bench -out docs

## fuzz: run each fuzz target for FUZZTIME (default 1m)
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDraft$$' -fuzztime $(FUZZTIME) ./shared/task
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME) ./shared/httpx
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCompleted$$' -fuzztime $(FUZZTIME) ./shared/events
	$(GO) test -run '^$$' -fuzz '^FuzzHTTPCloudEvent$$' -fuzztime $(FUZZTIME) ./shared/events
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./shared/recurrence
	$(GO) test -run '^$$' -fuzz '^FuzzSeries$$' -fuzztime $(FUZZTIME) ./shared/recurrence

## unit: the fast tests only: no database, no broker (handlers run on in-memory fakes)
unit:
	$(GO) test -short -count=1 $(PKGS)

## lint: gofmt, go vet (also as a macOS build), staticcheck, actionlint (the CI workflow)
lint: $(STATICCHECK) $(ACTIONLINT)
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	GOOS=darwin $(GO) vet $(PKGS)
	cd k8s/check && GOWORK=off $(GO) vet ./...
	$(STATICCHECK) $(PKGS)
	$(ACTIONLINT) .github/workflows/*.yml

## fmt: gofmt every Go file
fmt:
	gofmt -w .

## tidy: go mod tidy in every module, bottom up (they require each other at the version a release tags; see README)
tidy:
	$(GO) run ./dev/modproxy/tidy

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(ACTIONLINT):
	GOBIN=$(TOOLS) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

## tools: the linters lint uses, built once under ~/.cache/todo-tools
tools: $(STATICCHECK) $(ACTIONLINT)

## clean: remove bin/, dist/ and .data/ (make run's database and broker)
clean:
	rm -rf bin dist .data
