# kubectl-access. `make demo` and `make test` are the two commands a fresh
# machine needs; the first run builds the local control plane (~13 min on 2
# cores, cached afterwards).
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO       ?= go
PKG      := github.com/kubectl-access/kubectl-access
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X $(PKG)/pkg/version.version=$(VERSION) -X $(PKG)/pkg/version.commit=$(COMMIT) -X $(PKG)/pkg/version.date=$(DATE)
TEST_TIMEOUT ?= 60m

.PHONY: all build controlplane test test-unit test-e2e demo lint clean dist krew-manifest docs

all: build

build: ## Build bin/kubectl-access.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/kubectl-access ./cmd/kubectl-access

controlplane: ## Build (once, cached) etcd, kube-apiserver, kube-controller-manager and kubectl.
	./hack/build-controlplane.sh >/dev/null

test: lint controlplane ## Unit and end-to-end tests on the local control plane.
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

test-unit: ## Unit tests only; no control plane.
	$(GO) test -short ./...

test-e2e: controlplane ## End-to-end tests only.
	$(GO) test -timeout $(TEST_TIMEOUT) -count=1 ./test/e2e/

demo: build controlplane ## Run the main job on a local control plane, then stop it.
	PATH="$(CURDIR)/bin:$$PATH" $(GO) run ./hack/localcluster -authz-webhook -- ./hack/demo.sh

.PHONY: mutate
mutate: ## Mutation testing of the domain packages' unit tests (gremlins, then the mutants it never runs; ~1.5 h on 2 cores); writes docs/mutation.md. Not part of make test.
	./hack/mutate.sh

# Knobs for `make bench`, e.g. BENCH_FLAGS='-pairs 5 -n 20' for a quick look;
# see the doc comment of test/bench/main.go.
BENCH_FLAGS ?=

.PHONY: bench
bench: build controlplane ## Benchmarks against the documented flow and kubectl (~15 min with the --verify jobs); writes docs/benchmarks.md.
	$(GO) run ./test/bench -bin bin/kubectl-access $(BENCH_FLAGS)

lint: ## gofmt and go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

dist: ## Build the release archives of every platform into dist/ (goreleaser snapshot, offline).
	./hack/dist.sh

krew-manifest: ## Render plugins.yaml from .krew.yaml for the archives in dist/ (run make dist first).
	$(GO) run ./hack/krew-manifest -template .krew.yaml -dist dist -o plugins.yaml

docs: ## Regenerate the command reference in docs/reference/ from the command tree.
	$(GO) run ./hack/gendocs docs/reference

clean: ## Remove build outputs (the control plane cache stays).
	rm -rf bin dist
