# clusterbench — see README.md. `make bench` and `make test` are the two commands.
GO       ?= go
BIN      := bin/clusterbench
PKG      := ./...
GOFILES  := $(shell find . -name '*.go' -not -path './.git/*')

.PHONY: all build test test-short lint clean bench bench-quick bench-node

all: build

build: $(BIN)

$(BIN): $(GOFILES) go.mod go.sum
	$(GO) build -o $(BIN) ./bench/cmd/clusterbench

# The whole suite, with the race detector. Multi-process tests re-execute
# the test binary or use bin/clusterbench.
test: build
	$(GO) vet $(PKG)
	$(GO) test -race -count=1 -timeout 8m $(PKG)

# The default comparison: GET / and the calculation mix on single, pool and
# prefork (scenarios/hello.yaml, scenarios/calc-mix.yaml); about 2½ minutes
# on 2 cores. Prints the tables and the report paths; the runs are written
# to results/runs/<UTC time>-<scenario>/.
bench: build
	$(BIN) run hello calc-mix

# A ~30 s smoke run of the same servers (scenarios/quick.yaml).
bench-quick: build
	$(BIN) run quick

# The Node.js cluster reference against the Go models (needs node).
bench-node: build
	$(BIN) run node-vs-go

test-short: build
	$(GO) test -short -count=1 $(PKG)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKG)

clean:
	rm -rf bin results/runs
