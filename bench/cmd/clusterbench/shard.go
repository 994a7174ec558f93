package main

import (
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/bench/shard"
)

// shardFlags are the --shard, --start-at and --run-id flags of run and
// load: one generator's share of a load split across several (a
// Kubernetes Indexed Job's pods, or processes on one machine), merged
// afterwards by `clusterbench merge`.
type shardFlags struct {
	spec    string
	startAt string
	runID   string
}

func addShardFlags(fs *pflag.FlagSet, f *shardFlags) {
	fs.StringVar(&f.spec, "shard", "", "run shard `i/N` (0-based) of the load: each takes its share of every rate or concurrency level; auto/N reads i from $"+shard.EnvIndex+" (a Kubernetes Indexed Job)")
	fs.StringVar(&f.startAt, "start-at", "", "wait until `TIME` (RFC 3339, e.g. 2026-11-30T20:00:00Z) before the warm-up, so that shards start together")
	fs.StringVar(&f.runID, "run-id", "", "the `ID` all shards of one run share (default: from --start-at and the scenario name)")
}

// applyShard checks the flags and, with --shard, turns the single
// scenario of scs into this shard's share of it. It sets o.startAt and
// o.shard. now is the current time, getenv reads the environment.
func (o *runOptions) applyShard(f shardFlags, scs []*scenario.Scenario, now time.Time, getenv func(string) string) error {
	if f.startAt != "" {
		t, err := time.Parse(time.RFC3339Nano, f.startAt)
		if err != nil {
			return usageError("--start-at %q is not an RFC 3339 time (allowed: e.g. 2026-11-30T20:00:00Z or 2026-11-30T21:00:00+01:00)", f.startAt)
		}
		for _, sc := range scs {
			if late := now.Sub(t); late > sc.Load.Warmup {
				return usageError("--start-at %s is %s in the past (allowed: a time in the future, or past by at most the warm-up, %s)",
					f.startAt, late.Round(time.Millisecond), sc.Load.Warmup)
			}
		}
		o.startAt = t
	}
	if f.spec == "" {
		if f.runID != "" {
			return usageError("--run-id without --shard (allowed: --run-id names the shards of one run, given with --shard)")
		}
		return nil
	}
	sp, err := shard.Parse(f.spec, getenv)
	if err != nil {
		return usageError("--shard: %v", err)
	}
	if len(scs) != 1 {
		return usageError("--shard with %d scenarios (allowed: one scenario per sharded run)", len(scs))
	}
	sc := scs[0]
	if f.runID == "" && f.startAt == "" {
		return usageError("--shard without --start-at or --run-id: the shards could not agree on a run id (allowed: --start-at TIME, from which the id is derived, or --run-id ID)")
	}
	for _, s := range sc.Servers {
		if !s.IsTarget() {
			return usageError("--shard: scenario %s starts server %s itself, so each shard would load its own copy (allowed: a scenario whose servers are all target: URLs, or clusterbench load URL)", sc.Name, s.Name)
		}
	}
	if len(sc.Calc) > 0 {
		return usageError("--shard: scenario %s has a calc: section, which runs inside the generator and cannot be split (allowed: a scenario without calc:)", sc.Name)
	}
	levels, err := shard.Levels(sc.Load.Levels, sp)
	if err != nil {
		what := "--concurrency"
		if sc.Load.Mode == scenario.Open {
			what = "--rate"
		}
		return usageError("--shard %s: %s: %v", f.spec, what, err)
	}
	info := &results.ShardInfo{Index: sp.Index, Count: sp.Count, RunID: f.runID, StartAt: o.startAt,
		Levels: slices.Clone(sc.Load.Levels), RequestsPerTrial: sc.Load.Requests}
	if info.RunID == "" {
		info.RunID = shard.RunID(o.startAt, sc.Name)
	}
	reqs, conns := sc.Load.Requests, sc.Load.MaxConns
	switch {
	case reqs > 0 && reqs < int64(sp.Count):
		return usageError("--shard %s: --requests %d leaves shard %d with none (allowed: at least %d requests with %d shards)", f.spec, reqs, sp.Count-1, sp.Count, sp.Count)
	case conns > 0 && conns < sp.Count:
		return usageError("--shard %s: load.connections %d leaves shard %d with none (allowed: at least %d connections with %d shards)", f.spec, conns, sp.Count-1, sp.Count, sp.Count)
	}
	sc.Load.Levels = levels
	sc.Load.Requests = shard.Share(reqs, sp.Index, sp.Count)
	sc.Load.MaxConns = int(shard.Share(int64(conns), sp.Index, sp.Count))
	o.shard = info
	return nil
}
