# clusterbench — see README.md. `make bench` and `make test` are the two commands.
GO       ?= go
BIN      := bin/clusterbench
PKG      := ./...
GOFILES  := $(shell find . -name '*.go' -not -path './.git/*')

.PHONY: all build test test-stress test-short lint clean bench bench-quick bench-node bench-faults check calibrate bench-generator bench-shards

all: build

build: $(BIN)

$(BIN): $(GOFILES) go.mod go.sum
	$(GO) build -buildvcs=auto -o $(BIN) ./bench/cmd/clusterbench

# The whole suite, with the race detector. Multi-process tests re-execute
# the test binary or use bin/clusterbench.
test: build
	$(GO) vet $(PKG)
	GOOS=darwin $(GO) vet $(PKG)
	GOOS=windows $(GO) vet $(PKG)
	GOOS=darwin $(GO) build -o /dev/null ./bench/cmd/clusterbench
	GOOS=windows $(GO) build -o /dev/null ./bench/cmd/clusterbench
	$(GO) test -race -count=1 -timeout 8m $(PKG)
	$(GO) test -count=1 -run 'TestEnginesAgree|TestCoordinatedOmission' ./bench/load

# make test $(STRESS_RUNS) times in a row while every CPU is kept busy by
# stress-ng --cpu 4 (Debian's stress-ng; without it, 4 busy shell loops):
# the suite must not depend on a quiet machine. About 5 minutes a run on 2
# cores.
STRESS_RUNS ?= 5
test-stress: build
	@set -e; pids=""; \
	if command -v stress-ng >/dev/null 2>&1; then \
		stress-ng --cpu 4 --timeout $$(( $(STRESS_RUNS) * 900 ))s >/dev/null 2>&1 & pids=$$!; load="stress-ng --cpu 4"; \
	else for i in 1 2 3 4; do sh -c 'while :; do :; done' & pids="$$pids $$!"; done; load="4 busy shell loops"; fi; \
	trap 'kill $$pids 2>/dev/null; wait $$pids 2>/dev/null || true' EXIT; trap 'exit 130' INT TERM; \
	for i in $$(seq $(STRESS_RUNS)); do \
		echo "test-stress: run $$i of $(STRESS_RUNS) under $$load"; \
		$(MAKE) --no-print-directory test || { echo "test-stress: run $$i of $(STRESS_RUNS) FAILED under $$load"; exit 1; }; \
	done; \
	echo "test-stress: $(STRESS_RUNS) of $(STRESS_RUNS) passed under $$load"

# The default comparison: GET / and the calculation mix on single, pool and
# prefork (scenarios/hello.yaml, scenarios/calc-mix.yaml); about 2 minutes
# on 2 cores. Prints the tables and the report paths; the runs are written
# to results/runs/<UTC time>-<scenario>/.
bench: build
	$(BIN) run hello calc-mix

# A ~15 s smoke run of the same servers (scenarios/quick.yaml).
bench-quick: build
	$(BIN) run quick

# The Node.js cluster reference against the Go models (needs node).
bench-node: build
	$(BIN) run node-vs-go

# Faults under load (scenarios/faults.yaml): kill -9 of a worker, then
# SIGHUP, on prefork in each balance mode and the Node.js cluster (needs
# node), keep-alive off; then drain.yaml and drain-node.yaml: SIGHUP and
# SIGTERM over keep-alive connections (Node: SIGTERM only); then
# crash-loop.yaml: a worker and each replacement killed as it appears, 5
# kills, to show each master's restart backoff. About three minutes. Prints
# the fault tables; timeline.csv in each run.
bench-faults: build
	$(BIN) run faults drain drain-node crash-loop

# The regression gate as a project's CI runs it (README: The performance
# regression gate): bin/clusterbench check, whose --help says more.
#   make check BASE=origin/main   builds BASE in a temporary git worktree and
#       gates the working tree's binary against it in interleaved A/B trials.
#   make check                    the same against the commit
#       results/$(GATE_BASELINE) was measured from, if this clone has it;
#       else BASE=saved.
#   make check BASE=saved         a fresh run against the saved numbers:
#       advisory (exit 0) unless GATE_STRICT_SAVED=1.
# GATE_FLAGS go to ab or compare (--strict, --summary FILE, --junit FILE...).
# The servers and the load generator run at nice $(GATE_NICE) when allowed.
# make exits 2 when the gate fails; its `Error N` line has clusterbench's own
# code (1 regression, 2 usage, 3 measurement failed or inconclusive under
# --strict).
GATE_SCENARIO ?= scenarios/gate.yaml
GATE_SERVER   ?= serve --model single
GATE_BASELINE ?= gate-baseline
GATE_BASELINE_METRICS ?= cpu
GATE_FLAGS    ?=
GATE_NICE     ?= -10
GATE_STRICT_SAVED ?=
check: build
	$(BIN) check $(if $(BASE),--base "$(BASE)") --scenario "$(GATE_SCENARIO)" --server "$(GATE_SERVER)" \
		--baseline "$(GATE_BASELINE)" --baseline-metrics "$(GATE_BASELINE_METRICS)" --nice $(GATE_NICE) \
		--go "$(GO)" $(if $(GATE_STRICT_SAVED),--strict-saved) -- $(GATE_FLAGS)

# Calibration of the gate on this machine: 20 A/A gates (false alarms) and
# 20 A/B gates whose head burns 10% more CPU per request (detections).
# About 20 minutes on 2 cores. CALIBRATE_FLAGS e.g. --rise 5%,10%,20%.
CALIBRATE_FLAGS ?=
calibrate: build
	$(GO) build -o bin/calibrate ./bench/cmd/calibrate
	@nice=""; if nice -n $(GATE_NICE) true 2>/dev/null; then nice="nice -n $(GATE_NICE)"; fi; \
	$$nice bin/calibrate --binary $(BIN) $(CALIBRATE_FLAGS)

# The load generator's own cost against wrk (skipped when wrk is missing): req/s,
# client CPU per request and client-bound rounds against serve --model single and
# a built-in epoll hello server, then the lean engine open loop at 0.5, 0.8 and 1.0
# of its closed-loop req/s; about 2m45s. GENBENCH_FLAGS e.g. --rounds 10
# --engines lean,vegeta, --open-rounds 1, --open=false
GENBENCH_FLAGS ?=
bench-generator: build
	$(GO) build -o bin/genbench ./bench/cmd/genbench
	bin/genbench --binary $(BIN) $(GENBENCH_FLAGS)

# Sharded load on one machine: N = 2 and 4 shard processes of `load` (each
# its own process, started together by --start-at) against one
# `serve --model single` on loopback, $(SHARDS_RATE) req/s in all, merged by
# `clusterbench merge` and reported; then TestShardsMergeEndToEnd checks the
# merge exactly (requests add up, the merged histogram is that of every
# shard's requests, the merged rate is the asked one within 2%). About a
# minute, most of it compiling the test.
SHARDS_RATE     ?= 400
SHARDS_DURATION ?= 3s
bench-shards: build
	@set -e; out=$$(mktemp -d); log=$$out/serve.log; \
	$(BIN) serve --model single --addr 127.0.0.1:0 2>$$log & srv=$$!; \
	trap 'kill $$srv 2>/dev/null; wait $$srv 2>/dev/null || true' EXIT; trap 'exit 130' INT TERM; \
	for i in $$(seq 100); do grep -q 'msg=listening' $$log && break; sleep 0.1; done; \
	addr=$$(sed -n 's/.*msg=listening.* addr=\([^ ]*\).*/\1/p' $$log); \
	[ -n "$$addr" ] || { echo "bench-shards: the server did not start:"; cat $$log; exit 1; }; \
	for n in 2 4; do \
		at=$$(date -u -d '+2 sec' +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -v+2S +%Y-%m-%dT%H:%M:%SZ); \
		pids=""; \
		for i in $$(seq 0 $$((n - 1))); do \
			$(BIN) load http://$$addr/ -r $(SHARDS_RATE) -d $(SHARDS_DURATION) --warmup 1s --shard $$i/$$n --start-at $$at \
				-o $$out/shards-$$n -q > $$out/shard-$$n-$$i.dir & pids="$$pids $$!"; \
		done; \
		for p in $$pids; do wait $$p; done; \
		echo "bench-shards: $$n shards of $(SHARDS_RATE) req/s against serve --model single at $$addr, started at $$at:"; \
		$(BIN) merge $$(cat $$out/shard-$$n-*.dir) -o $$out/merged-$$n; \
	done; \
	echo "bench-shards: the run directories are under $$out"
	$(GO) test -count=1 -run TestShardsMergeEndToEnd ./bench/cmd/clusterbench

test-short: build
	$(GO) test -short -count=1 $(PKG)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKG)

clean:
	rm -rf bin results/runs
