# Developer entry points. The README's two commands need none of this.
GO ?= go
BIN := bin/localaks

.PHONY: build test unit e2e lint fmt bench fuzz clean azurerm-acc

build:
	$(GO) build -o $(BIN) ./cmd/localaks

# The whole suite, as the README and CI run it.
test:
	$(GO) test -timeout 60m ./...

# Unit and in-process tests only (no binary, no az).
unit:
	$(GO) test $$($(GO) list ./... | grep -v /test/e2e)

# End-to-end tests against the built binary with the az CLI and the Go SDK.
e2e:
	$(GO) test -v ./test/e2e/...

# azurerm's own acceptance tests for AKS, every test of the families
# (about an hour and a half); the suite runs a subset (test/terraform/acctest).
azurerm-acc:
	$(GO) run ./test/terraform/acctest -markdown -log azurerm-acc.log

lint:
	hack/lint.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

# The harness (test/bench) runs servers in-process; the clusters' control
# planes are $(BIN)'s controlplane command.
bench: build
	$(GO) run ./test/bench arm
	$(GO) test -run '^$$' -bench BenchmarkPermits -benchtime 20000x ./internal/provider/authorization/
	$(GO) test -run '^$$' -bench 'BenchmarkClusterPage|BenchmarkBridge' -benchtime 20x ./internal/portal/
	$(GO) run ./test/bench aks
	$(GO) run ./test/bench registry
	$(GO) run ./test/bench realnodes --localaks $(BIN)
	peer=$$(hack/kwok-peer.sh) && PATH=$$peer/bin:$$PATH $(GO) run ./test/bench clusters --localaks $(BIN) --kwokctl-config $$peer/kwokctl.yaml

# Short runs of every fuzz target.
fuzz:
	$(GO) test ./internal/resourceid -run '^$$' -fuzz FuzzParse -fuzztime 30s
	$(GO) test ./internal/arm -run '^$$' -fuzz FuzzParsePath -fuzztime 30s
	$(GO) test ./internal/provider/resources -run '^$$' -fuzz FuzzParseFilter -fuzztime 30s
	$(GO) test ./internal/server -run '^$$' -fuzz FuzzResourceGroupBody -fuzztime 30s
	$(GO) test ./internal/armtemplate -run '^$$' -fuzz FuzzTemplate -fuzztime 30s
	$(GO) test ./internal/arm -run '^$$' -fuzz FuzzStandardizeJSONC -fuzztime 30s

clean:
	rm -rf bin
