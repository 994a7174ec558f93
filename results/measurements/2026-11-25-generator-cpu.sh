#!/usr/bin/env bash
# What it measures (figures: 2026-11-25-dev-machine.md, "Our generator
# against wrk"): the load generator's CPU time per request against wrk -t1's,
# both on CPU 1, against serve --model single on CPU 0 (GET /, 64
# connections, 3 s after 1 s warm-up), 8 rounds, alternating which goes first.
# The figures of 2026-11-25 were measured with the vegeta engine, the only
# one before 2026-11-30; ENGINE=vegeta repeats that (default: today's lean
# engine). `make bench-generator` (results/measurements/generator.md) is the
# current, fuller version of this comparison.
#
# How to run it, from the repository root (about 1.5 minutes; Linux; needs
# wrk, taskset, curl and GNU time as /usr/bin/time; 2 or more CPUs):
#   make build && results/measurements/2026-11-25-generator-cpu.sh
#   ENGINE=vegeta results/measurements/2026-11-25-generator-cpu.sh
#
# The script as it was run, with ENGINE added and a race fixed (marked):
# Generator efficiency: CPU time per request of wrk -t1 and of clusterbench,
# both on CPU 1, against single on CPU 0; 8 rounds, alternating which goes first.
set -euo pipefail
# run from the repository root, after make build
BIN=bin/clusterbench
ENGINE_FLAGS=${ENGINE:+--engine $ENGINE}
OUT=$(mktemp -d)
echo "== $(date -u +%FT%TZ)  $(uptime)"
healthy() { for _ in $(seq 200); do curl -fs -o /dev/null "http://$1/healthz" && return 0; sleep 0.05; done; return 1; }
wrk_round() {
  : > $OUT/serve.log  # (added 2026-11-30: else the previous round's address may be read)
  taskset -c 0 $BIN serve --model single --addr 127.0.0.1:0 2>$OUT/serve.log & local s=$!
  local addr=""
  for _ in $(seq 200); do addr=$(sed -n 's/.*msg=listening.* addr=\([0-9.:]*\).*/\1/p' $OUT/serve.log); [ -n "$addr" ] && break; sleep 0.05; done
  healthy $addr
  taskset -c 1 wrk -t1 -c64 -d1s http://$addr/ >/dev/null
  /usr/bin/time -f "%U %S" -o $OUT/wrk.time taskset -c 1 wrk -t1 -c64 -d3s http://$addr/ > $OUT/wrk.out
  kill -TERM $s; wait $s || true
  local n rps cpu
  n=$(awk '/requests in/{print $1}' $OUT/wrk.out); rps=$(awk '/Requests\/sec/{print $2}' $OUT/wrk.out)
  cpu=$(awk '{print $1+$2}' $OUT/wrk.time)
  awk -v n=$n -v r=$rps -v c=$cpu 'BEGIN{printf "wrk          %6.0f req/s  %5.1f µs CPU/req", r, c/n*1e6}'
}
ours_round() {
  # (changed 2026-11-30: the trial rows moved from summary.csv to trials.csv, --format trials)
  $BIN run $ENGINE_FLAGS hello --servers single --concurrency 64 --duration 3s --warmup 1s --trials 1 --format trials --out $OUT/gen \
    | awk -F, 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} {printf "clusterbench %6.0f req/s  %5.1f µs CPU/req", $c["throughput_rps"], $c["client_cpu_util"]*$c["duration_s"]/$c["requests"]*1e6}'
}
for i in 1 2 3 4 5 6 7 8; do
  if [ $((i % 2)) = 1 ]; then a=$(wrk_round); b=$(ours_round); else b=$(ours_round); a=$(wrk_round); fi
  echo "round $i: $a | $b"
done
echo "== done $(date -u +%FT%TZ)  $(uptime)"
