#!/usr/bin/env bash
# What it measures (figures: 2026-11-25-dev-machine.md, next to this file):
#   1. req/s of clusterbench's load generator against wrk -t1, same server
#      (serve --model single, GET /, 64 connections), 8 rounds, ABBA order;
#   2. the Node.js cluster reference (rr and none) against single, pool and
#      prefork (shared, roundrobin): GET /, 64 connections, 2 workers each,
#      4 rounds, order reversed every other round;
#   3. the peak memory (VmHWM) of a one-minute `clusterbench run`.
# The figures of 2026-11-25 were measured with the vegeta engine, the only
# one before 2026-11-30. Today `clusterbench run` uses the lean engine;
# ENGINE=vegeta passes --engine vegeta to every run to repeat the old setup.
#
# How to run it, from the repository root (about 5 minutes; Linux; needs
# wrk, node, taskset, curl and GNU time as /usr/bin/time; 2 or more CPUs):
#   make build && results/measurements/2026-11-25-dev-machine.sh
#   ENGINE=vegeta results/measurements/2026-11-25-dev-machine.sh
#
# The script as it was run, with ENGINE added and a race fixed (marked):
# Measurements for the README, all in one run on pinned cores: servers on
# CPU 0, load generators (wrk -t1, clusterbench) on CPU 1. The machine is
# shared, so every comparison is interleaved in rounds and read as a
# per-round ratio; the medians are taken over the rounds.
set -euo pipefail
# run from the repository root, after make build
BIN=bin/clusterbench
ENGINE_FLAGS=${ENGINE:+--engine $ENGINE}
OUT=$(mktemp -d)
# (changed 2026-11-30: the trial rows moved from summary.csv to trials.csv, --format trials)
col() { awk -F, -v want="$1" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} {print $c["server"], $c[want], $c["server_cpu_per_req_us"], $c["client_bound"]}'; }
echo "== $(date -u +%FT%TZ)  $(uptime)"
echo "== 1. our generator vs wrk: single, GET /, 64 connections, 3 s after 1 s warm-up, 8 rounds (ABBA)"
healthy() { for _ in $(seq 200); do curl -fs -o /dev/null "http://$1/healthz" && return 0; sleep 0.05; done; return 1; }
wrk_round() {
  : > $OUT/serve.log  # (added 2026-11-30: else the previous round's address may be read)
  taskset -c 0 $BIN serve --model single --addr 127.0.0.1:0 2>$OUT/serve.log & local s=$!
  local addr=""
  for _ in $(seq 200); do addr=$(sed -n 's/.*msg=listening.* addr=\([0-9.:]*\).*/\1/p' $OUT/serve.log); [ -n "$addr" ] && break; sleep 0.05; done
  healthy $addr
  taskset -c 1 wrk -t1 -c64 -d1s http://$addr/ >/dev/null
  taskset -c 1 wrk -t1 -c64 -d3s http://$addr/ | awk '/Requests\/sec/{printf "%.0f", $2}'
  kill -TERM $s; wait $s || true
}
ours_round() {
  $BIN run $ENGINE_FLAGS hello --servers single --concurrency 64 --duration 3s --warmup 1s --trials 1 --format trials --out $OUT/gen \
    | col throughput_rps | awk '{printf "%.0f", $2}'
}
for i in 1 2 3 4 5 6 7 8; do
  if [ $((i % 2)) = 1 ]; then w=$(wrk_round $i); o=$(ours_round); else o=$(ours_round); w=$(wrk_round $i); fi
  echo "round $i: wrk $w req/s, clusterbench $o req/s, ratio $(awk -v o=$o -v w=$w 'BEGIN{printf "%.2f", o/w}')"
done
echo "== 2. Node cluster vs Go models: GET /, 64 connections, 2 workers each, 3 s after 1 s warm-up, 4 rounds (order reversed every other round)"
node='
  - name: node-rr
    command: [node, servers/node/cluster.js]
    env: {NODE_CLUSTER_SCHED_POLICY: rr, WORKERS: "2"}
  - name: node-none
    command: [node, servers/node/cluster.js]
    env: {NODE_CLUSTER_SCHED_POLICY: none, WORKERS: "2"}'
gomodels='
  - model: single
  - model: pool
    workers: 2
  - name: prefork-shared
    model: prefork
    workers: 2
    balance: shared
  - name: prefork-rr
    model: prefork
    workers: 2
    balance: roundrobin'
rest='requests:
  - path: /
load:
  concurrency: [64]
  duration: 3s
  warmup: 1s
  trials: 1'
printf 'name: node-hello\nservers:%s%s\n%s\n' "$node" "$gomodels" "$rest" > $OUT/fwd.yaml
printf 'name: node-hello\nservers:%s%s\n%s\n' "$gomodels" "$node" "$rest" > $OUT/rev.yaml
for i in 1 2 3 4; do
  f=$OUT/fwd.yaml; [ $((i % 2)) = 0 ] && f=$OUT/rev.yaml
  $BIN run $ENGINE_FLAGS $f --format trials --out $OUT/node | col throughput_rps | awk -v r=$i '{printf "round %d: %-15s %8.0f req/s  server cpu/req %5.1f µs  client-bound %s\n", r, $1, $2, $3, $4}'
done
echo "== 3. peak memory of a one-minute run (single, 64 connections, 60 s)"
/usr/bin/time -v $BIN run $ENGINE_FLAGS hello --servers single --concurrency 64 --duration 60s --warmup 0s --trials 1 --quiet --out $OUT/mem 2>$OUT/time.txt &
T=$!
HWM=0
while kill -0 $T 2>/dev/null; do
  P=$(pgrep -P $T -x clusterbench || true)
  if [ -n "$P" ]; then H=$(awk '/VmHWM/{print $2}' /proc/$P/status 2>/dev/null || echo 0); [ "${H:-0}" -gt "$HWM" ] && HWM=$H; fi
  sleep 1
done
wait $T || true
echo "clusterbench run process VmHWM (its own peak RSS): $HWM kB"
grep -E "Maximum resident|Elapsed" $OUT/time.txt
echo "requests in the minute: $(awk -F, 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} {print $c["requests"]}' $OUT/mem/*/trials.csv)"
echo "== done $(date -u +%FT%TZ)  $(uptime)"
