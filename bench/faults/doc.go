// Package faults applies a scenario's faults to a running server during a
// trial and works out what each did.
//
// Run is the side that acts: at each fault's time from the trial's start it
// kills (SIGKILL) or stalls (SIGSTOP, then SIGCONT) one worker process of
// the server, or signals its master, and records what it did as a
// results.FaultEvent: when, which pid, the server's worker processes just
// before, when a new worker process appeared in the process tree, when a
// drained server exited. A fault that cannot be applied (the process is
// gone, no worker answers to the id asked for) is recorded as not applied,
// with the reason, and the trial goes on. A crash loop kills one worker,
// then each replacement as soon as it appears in the process tree (and at
// least its every: after the previous kill), its times: kills in all,
// recording each kill and each restart delay; a master that starts no
// replacement within CrashLoopWait, or exits instead, gave up, and the
// loop stops there (a server that exited ends the trial). It kills only
// children of the master it started with, and a fault due while it is
// under way is not applied (faults act one at a time). Worker
// processes are the children of the server's master, read from /proc
// (Linux); which worker answered as which X-Worker-Id comes from the
// server's own answers.
//
// Annotate and Summarize are pure: from a trial's timeline (bench/metrics)
// they work out each fault's figures — requests failed by kind, the time
// until throughput is back within 10% of its median before the fault, the
// worst latency meanwhile, the time until a new worker answered (for a
// crash loop, from its last kill; and its kills and restart delays) — and
// aggregate them across trials with metrics.Estimate.
//
// Run owns every goroutine it starts and waits for them before it returns;
// a worker it stopped is always continued (SIGCONT) before Run returns,
// also when the context is cancelled, and a crash loop sends no kill once
// the trial has ended or the context is cancelled. Signals need a Unix system;
// elsewhere every fault is recorded as not applied.
package faults
