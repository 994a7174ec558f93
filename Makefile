# clusterbench — see README.md. `make bench` and `make test` are the two commands.
GO       ?= go
BIN      := bin/clusterbench
PKG      := ./...
GOFILES  := $(shell find . -name '*.go' -not -path './.git/*')

.PHONY: all build test test-short lint clean

all: build

build: $(BIN)

$(BIN): $(GOFILES) go.mod go.sum
	$(GO) build -o $(BIN) ./bench/cmd/clusterbench

# The whole suite, with the race detector. Multi-process tests re-execute
# the test binary or use bin/clusterbench.
test: build
	$(GO) vet $(PKG)
	$(GO) test -race -count=1 -timeout 8m $(PKG)

test-short: build
	$(GO) test -short -count=1 $(PKG)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKG)

clean:
	rm -rf bin results/runs
