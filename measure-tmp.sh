#!/usr/bin/env bash
# Measurements for docs/runner.md, all in one run on pinned cores:
# servers on CPU 0, load generators (wrk, clusterbench) on CPU 1.
set -euo pipefail
cd "$(dirname "$0")"
BIN=bin/clusterbench
OUT=$(mktemp -d)
echo "== $(date -u +%FT%TZ)  $(uptime)"
echo "== 1. generator vs wrk: single, GET /, 64 connections, 10 s, interleaved x3"
healthy() { for _ in $(seq 200); do curl -fs -o /dev/null "http://$1/healthz" && return 0; sleep 0.05; done; return 1; }
for i in 1 2 3; do
  ADDR=127.0.0.1:39$((100 + i))
  taskset -c 0 $BIN serve --model single --addr $ADDR 2>/dev/null & S=$!
  healthy $ADDR
  taskset -c 1 wrk -t1 -c64 -d1s http://$ADDR/ >/dev/null            # warm-up, as ours has 1 s
  W=$(taskset -c 1 wrk -t1 -c64 -d10s --latency http://$ADDR/)
  kill -TERM $S; wait $S || true
  echo "wrk  #$i: $(echo "$W" | awk '/Requests\/sec/{print $2}') req/s  p50 $(echo "$W" | awk '$1=="50%"{print $2}') p99 $(echo "$W" | awk '$1=="99%"{print $2}')"
  $BIN run hello --servers single --concurrency 64 --duration 10s --warmup 1s --trials 1 --format csv --out $OUT/gen \
    | awk -F, 'NR==1{for(i=1;i<=NF;i++)c[$i]=i} $c["row"]=="trial"{printf "ours #%d: %.0f req/s  p50 %.3fms p99 %.3fms  client cpu %.0f%%\n", '"$i"', $c["throughput_rps"], $c["p50_ms"], $c["p99_ms"], 100*$c["client_cpu_util"]}'
done
echo "== 2. Node cluster vs Go models: hello, 64 connections, 3 trials x 3 s"
cat > $OUT/node-hello.yaml <<'Y'
name: node-hello
description: GET / on the Node cluster reference (2 workers, rr and none) and the Go models (2 workers)
servers:
  - name: node-rr
    command: [node, servers/node/cluster.js]
    env: {NODE_CLUSTER_SCHED_POLICY: rr, WORKERS: "2"}
  - name: node-none
    command: [node, servers/node/cluster.js]
    env: {NODE_CLUSTER_SCHED_POLICY: none, WORKERS: "2"}
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
    balance: roundrobin
requests:
  - path: /
load:
  concurrency: [64]
  duration: 3s
  warmup: 1s
  trials: 3
Y
$BIN run $OUT/node-hello.yaml --out $OUT/node | sed -n '/throughput and latency/,/^  req\/s/p'
echo "== 3. peak memory of a one-minute run (single, 64 connections, 60 s)"
/usr/bin/time -v $BIN run hello --servers single --concurrency 64 --duration 60s --warmup 0s --trials 1 --quiet --out $OUT/mem 2>$OUT/time.txt &
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
echo "requests in the minute: $(awk -F, 'NR==1{for(i=1;i<=NF;i++)c[$i]=i} $c["row"]=="trial"{print $c["requests"]}' $OUT/mem/*/summary.csv)"
echo "== done $(date -u +%FT%TZ)  $(uptime)"
