#!/usr/bin/env bash
# What it measures (figures: 2026-11-25-calc.md, next to this file): the
# calc executors (servers/calc) and the Node.js original
# (servers/node/worker-calculation.js) on the same batches:
#   1. tiny tasks (sum n=1), 2 workers: the IPC cost of the process pool
#      against the goroutine pool, inline, and Node's worker.send;
#   2. fibonacci 27 with 1 and 2 workers: parallel efficiency;
#   3. the Go benchmarks of the per-task IPC overhead.
# Every command interleaves its models trial by trial; compare ratios within
# one command, not absolute figures between runs on a shared machine.
#
# How to run it, from the repository root (a few minutes; Linux; needs node):
#   make build && results/measurements/2026-11-25-calc.sh
set -euo pipefail
BIN=bin/clusterbench
NODE_CALC=servers/node/worker-calculation.js
echo "== $(date -u +%FT%TZ)  $(uptime)"
echo "== 1. tiny tasks"
$BIN calc --model inline,goroutine,process --workers 2 --kind sum --n 1 --tasks 200000 --trials 7 --node $NODE_CALC
echo "== 2. fibonacci 27, 1 and 2 workers"
$BIN calc --model goroutine,process --workers 1,2 --kind fibonacci --n 27 --tasks 400 --trials 9 --node $NODE_CALC
echo "== 3. Go benchmarks of the per-task IPC overhead"
go test -run '^$' -bench 'Tiny|Noop' -benchtime 1000000x -count 5 ./servers/calc
echo "== done $(date -u +%FT%TZ)  $(uptime)"
