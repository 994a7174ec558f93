// Command genbench measures what the project's load generator (bench/load)
// costs, against wrk as the yardstick: `make bench-generator` runs it.
//
// In one interleaved run it measures, round after round, every generator
// (wrk -t1 when it is on PATH, then each engine of bench/load given by
// --engines) against two servers: `clusterbench serve --model single`, and
// a single-goroutine epoll hello server built into genbench (re-executed
// with --serve-fast), cheap enough that the generator is the limit. The
// servers run pinned to --server-cpus, the generator to --client-cpus;
// each measurement is a closed loop of --conns keep-alive connections for
// --duration after a --warmup with the same generator, and the generators
// take turns (wrk, lean, wrk, lean...) so that all see the same machine.
//
// How to read it: req/s is what the generator achieved; CPU µs/req is the
// generator's own CPU time per request (wrk: the child's rusage; an
// engine: this process's CPU time over the trial), the figure that says
// how much of the client core each request costs. Against the single
// server the server is the limit, so req/s should match wrk's; against
// the fast server the generator is the limit, so the CPU/req ratio to wrk
// is the generator's efficiency: 1.00 is parity, above it is overhead.
// The ratios are medians of per-round ratios (same server, same round),
// which cancel drifts of the machine between rounds. client-bound counts
// the rounds in which bench/load flagged its engine as the likely limit
// (it used or waited for 85% of its CPUs): expect it against the fast
// server, rarely against single.
//
// Then, unless --open=false, the open loop: for each server, the lean
// engine's median closed-loop req/s is the max, and the lean engine sends
// at --open-fractions of it (default 0.5, 0.8, 1.0, rounded to whole
// req/s), keep-alive, with the same warm-up, duration and pinning, for
// --open-rounds rounds of every fraction against every server. Its table
// gives the asked and the achieved rate, the rounds that fell short (more
// than 5% under asked) and the requests dropped (more than a second
// behind the schedule), the median p50 and p99 latency (from each
// request's intended send time, so queueing counts) and CPU per request,
// and the ratio of the open p50 to the lean engine's closed-loop p50
// against the same server. At start genbench prints an estimate of the
// run time: about 2m45s with the defaults.
//
// The raw rows, closed loop then open loop (column mode), are written to
// results/runs/<UTC time>-generator/rounds.csv.
package main
