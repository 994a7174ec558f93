// Package merge turns the run directories of the shards of one run (run
// or load --shard i/N, e.g. the pods of a Kubernetes Indexed Job) into one
// run, as if one generator had applied the whole load.
//
// Trials are aligned by (server, unsharded level, trial number). For each
// aligned trial the latency histograms are added exactly (HdrHistogram
// Merge: the merged p99 is the p99 of every request of every shard, not an
// average of the shards' p99s); requests, successes, throughput, achieved
// and target rates, dropped requests, status codes, errors and per-worker
// tallies are summed; the generator's CPU is summed (ClientCPUS,
// ClientWaitS) while ClientCPUUtil is the busiest shard's, and a merged
// trial is client-bound or short of its rate when any shard's was — the
// run's Shard.Shards and Warnings say which shard. Server CPU, which every
// shard that measured it measured over nearly the same window, is the
// largest shard's figure. Summaries are recomputed with
// metrics.Summarize. The run's environment is that of the lowest shard
// merged (with the merge's command line); Shard.Shards names every
// shard's host.
//
// Merge refuses shards that do not belong together (ErrMismatch: another
// run id, scenario, load, build or shard count, or a repeated index),
// missing shards unless Options.AllowMissing (ErrMissing; allowed, the
// merged run is marked incomplete), and a measured trial without its
// latency histogram (ErrNoHistogram). Every error names the directory.
//
// Merge is a pure function of its arguments; it does not modify them.
package merge

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/runner"
)

// Errors Merge wraps.
var (
	ErrMismatch    = errors.New("the shards do not belong to one run")
	ErrMissing     = errors.New("shards are missing")
	ErrNoHistogram = errors.New("a trial has no latency histogram")
)

// Shard is one shard's run and the directory it was read from (for
// messages and the merged run's record).
type Shard struct {
	Dir string
	Run *results.Run
}

// Options of Merge.
type Options struct {
	// AllowMissing merges what is there when shards are missing; the
	// merged run is then not Complete and says which are missing.
	AllowMissing bool
	// Args is the merge command line, recorded as the run's Env.Args.
	Args []string
}

// Merge merges shards (in any order) into one run.
func Merge(shards []Shard, o Options) (*results.Run, error) {
	if len(shards) == 0 {
		return nil, fmt.Errorf("%w: no shard directories given", ErrMismatch)
	}
	shards = slices.Clone(shards)
	for _, s := range shards {
		if s.Run.Shard == nil {
			return nil, fmt.Errorf("%s: %w: not a shard: its summary.json has no shard field (allowed: run directories written by run or load --shard)", s.Dir, ErrMismatch)
		}
		if s.Run.Shard.Index < 0 {
			return nil, fmt.Errorf("%s: %w: a merged run, not a shard (allowed: the shards' own run directories)", s.Dir, ErrMismatch)
		}
	}
	sort.SliceStable(shards, func(i, j int) bool { return shards[i].Run.Shard.Index < shards[j].Run.Shard.Index })
	if err := checkTogether(shards); err != nil {
		return nil, err
	}
	first := shards[0].Run
	count := first.Shard.Count
	var present, missing []int
	for _, s := range shards {
		present = append(present, s.Run.Shard.Index)
	}
	for i := range count {
		if !slices.Contains(present, i) {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 && !o.AllowMissing {
		return nil, fmt.Errorf("%w: shards %s of %d are missing from run %s (given: %s; allowed: all %d shards, or --allow-missing to merge what there is, marked incomplete)",
			ErrMissing, ints(missing), count, first.Shard.RunID, ints(present), count)
	}

	run := &results.Run{
		Schema:   results.Schema,
		Scenario: first.Scenario,
		Started:  first.Started,
		Finished: first.Finished,
		Env:      first.Env,
		Load:     first.Load,
		Servers:  slices.Clone(first.Servers),
		Trials:   []results.Trial{},
	}
	run.Env.Args = slices.Clone(o.Args)
	run.Load.Levels = slices.Clone(first.Shard.Levels)
	run.Load.RequestsPerTrial = first.Shard.RequestsPerTrial
	run.Load.MaxConns = 0
	info := &results.ShardInfo{
		Index: -1, Count: count, RunID: first.Shard.RunID, StartAt: first.Shard.StartAt,
		Levels: slices.Clone(first.Shard.Levels), RequestsPerTrial: first.Shard.RequestsPerTrial,
		Merged: present, Missing: missing,
	}
	run.Shard = info

	type key struct {
		server       string
		level, trial int
	}
	var order []key
	parts := map[key][]part{}
	var why []string
	shape := metrics.NewLatencyHistogram() // the reference shape, built once: each is about 144 KiB
	for _, s := range shards {
		r := s.Run
		run.Started = minTime(run.Started, r.Started)
		run.Finished = maxTime(run.Finished, r.Finished)
		run.Load.MaxConns += r.Load.MaxConns
		if !r.Complete {
			why = append(why, fmt.Sprintf("shard %d incomplete: %s", r.Shard.Index, r.Incomplete))
		}
		for _, w := range r.Warnings {
			run.Warnings = append(run.Warnings, fmt.Sprintf("shard %d (%s): %s", r.Shard.Index, r.Env.Hostname, w))
		}
		sr := results.ShardRun{Index: r.Shard.Index, Dir: s.Dir, Hostname: r.Env.Hostname, Started: r.Started, Finished: r.Finished, Trials: []results.ShardTrial{}}
		for _, t := range r.Trials {
			li := slices.Index(r.Load.Levels, t.Level)
			if li < 0 {
				return nil, fmt.Errorf("%s: %w: trial %s/%d/%d is at a level its load does not list (%v)", s.Dir, ErrMismatch, t.Server, t.Level, t.Trial, r.Load.Levels)
			}
			level := r.Shard.Levels[li]
			if t.Histogram == nil && t.Requests > 0 {
				return nil, fmt.Errorf("%s: %w: trial %s has %d requests but %s holds no histogram for it (allowed: complete shard directories: an exact merge needs every trial's histogram)",
					s.Dir, ErrNoHistogram, hlog.Tag(t.Server, t.Level, t.Trial), t.Requests, hlog.FileName)
			}
			if t.Histogram != nil && !sameShape(t.Histogram, shape) {
				return nil, fmt.Errorf("%s: %w: the histogram of trial %s in %s has range %d..%dns at %d digits, not clusterbench's (allowed: histograms written by clusterbench)",
					s.Dir, ErrNoHistogram, hlog.Tag(t.Server, t.Level, t.Trial), hlog.FileName,
					t.Histogram.LowestTrackableValue(), t.Histogram.HighestTrackableValue(), t.Histogram.SignificantFigures())
			}
			k := key{t.Server, level, t.Trial}
			if _, ok := parts[k]; !ok {
				order = append(order, k)
			}
			parts[k] = append(parts[k], part{shard: r.Shard.Index, host: r.Env.Hostname, t: t})
			sr.Trials = append(sr.Trials, results.ShardTrial{
				Server: t.Server, Level: level, Trial: t.Trial, ShardLevel: t.Level, Requests: t.Requests, DurationS: t.DurationS,
				ClientCPUS: t.ClientCPUS, ClientCPUUtil: t.ClientCPUUtil, ClientWaitS: t.ClientWaitS,
				ClientBound: t.ClientBound, RateShortfall: t.RateShortfall,
			})
		}
		info.Shards = append(info.Shards, sr)
	}
	expected := map[string]int{}
	for _, s := range run.Servers {
		expected[s.Name] = metrics.ExpectedWorkers(s)
	}
	for _, k := range order {
		ps := parts[k]
		t := mergeTrial(ps, expected[k.server])
		t.Server, t.Level, t.Trial = k.server, k.level, k.trial
		run.Trials = append(run.Trials, t)
		if len(ps) < len(shards) {
			var have []int
			for _, p := range ps {
				have = append(have, p.shard)
			}
			why = append(why, fmt.Sprintf("trial %s measured by shards %s only", hlog.Tag(k.server, k.level, k.trial), ints(have)))
		}
		for _, p := range ps {
			if p.t.ClientBound {
				run.Warnings = append(run.Warnings, fmt.Sprintf("%s at %s trial %d: the load generator of shard %d (%s) may have been the bottleneck (it used %.0f%% of its CPUs and waited %.2fs for a CPU in %.1fs)",
					k.server, results.LevelName(run.Load.Mode, k.level), k.trial, p.shard, p.host, 100*p.t.ClientCPUUtil, p.t.ClientWaitS, p.t.DurationS))
			}
		}
	}
	if len(missing) > 0 {
		why = append([]string{fmt.Sprintf("shards %s of %d missing (merged with --allow-missing: the load is that of %d shards)", ints(missing), count, len(present))}, why...)
	}
	run.Summary = metrics.Summarize(run.Trials, run.Servers)
	run.Warnings = append(run.Warnings, runner.TrialWarnings(run.Trials)...)
	run.Complete = len(why) == 0
	run.Incomplete = strings.Join(why, "; ")
	return run, nil
}

// part is one shard's share of an aligned trial.
type part struct {
	shard int
	host  string
	t     results.Trial
}

func mergeTrial(ps []part, expected int) results.Trial {
	var t results.Trial
	h := metrics.NewLatencyHistogram()
	var start, end int64
	workers := make([][]results.Worker, 0, len(ps))
	t.StatusCodes = map[string]int64{}
	for _, p := range ps {
		s := p.t
		t.DurationS = max(t.DurationS, s.DurationS)
		t.Requests += s.Requests
		t.Successes += s.Successes
		t.Throughput += s.Throughput
		t.TargetRate += s.TargetRate
		t.AchievedRate += s.AchievedRate
		t.RateShortfall = t.RateShortfall || s.RateShortfall
		t.Dropped += s.Dropped
		t.Cut = t.Cut || s.Cut
		t.ClientCPUS += s.ClientCPUS
		t.ClientWaitS += s.ClientWaitS
		t.ClientCPUUtil = max(t.ClientCPUUtil, s.ClientCPUUtil)
		t.ClientBound = t.ClientBound || s.ClientBound
		t.ServerCPUS = max(t.ServerCPUS, s.ServerCPUS)
		for c, n := range s.StatusCodes {
			t.StatusCodes[c] += n
		}
		for e, n := range s.Errors {
			if t.Errors == nil {
				t.Errors = map[string]int64{}
			}
			t.Errors[e] += n
		}
		workers = append(workers, s.Workers)
		if s.Histogram != nil {
			h.Merge(s.Histogram) // same shape (checked by Merge): nothing is dropped
			if st := s.Histogram.StartTimeMs(); st > 0 && (start == 0 || st < start) {
				start = st
			}
			end = max(end, s.Histogram.EndTimeMs())
		}
	}
	if t.Requests > 0 {
		t.SuccessRatio = float64(t.Successes) / float64(t.Requests)
		t.ServerCPUPerReqUs = t.ServerCPUS / float64(t.Requests) * 1e6
	}
	t.RateShortfall = t.RateShortfall || metrics.RateShortfall(t.TargetRate, t.AchievedRate)
	h.SetStartTimeMs(start)
	h.SetEndTimeMs(end)
	t.Histogram = h
	t.Latency = metrics.LatencyOf(h)
	t.Workers = metrics.MergeWorkers(workers...)
	t.Fairness = metrics.WorkerFairness(t.Workers, expected)
	return t
}

// sameShape says whether h has the range and precision of ref (a
// metrics.NewLatencyHistogram), so that merging it loses nothing.
func sameShape(h, ref *hdrhistogram.Histogram) bool {
	return h.LowestTrackableValue() == ref.LowestTrackableValue() && h.HighestTrackableValue() == ref.HighestTrackableValue() &&
		h.SignificantFigures() == ref.SignificantFigures()
}

// checkTogether refuses shards (sorted by index) that are not of one run.
func checkTogether(shards []Shard) error {
	a := shards[0]
	for i, b := range shards {
		if i > 0 && b.Run.Shard.Index == shards[i-1].Run.Shard.Index {
			return fmt.Errorf("%w: %s and %s are both shard %d of %d (allowed: each index once)", ErrMismatch, shards[i-1].Dir, b.Dir, b.Run.Shard.Index, b.Run.Shard.Count)
		}
		if i == 0 {
			continue
		}
		for _, c := range []struct {
			what, allowed string
			x, y          any
		}{
			{"run id", "shards of one run", a.Run.Shard.RunID, b.Run.Shard.RunID},
			{"shard count", "shards of one run", a.Run.Shard.Count, b.Run.Shard.Count},
			{"scenario", "shards of one scenario", a.Run.Scenario.Name, b.Run.Scenario.Name},
			{"commit", "shards measured by one build", commit(a.Run.Env), commit(b.Run.Env)},
			{"start time", "shards started together", a.Run.Shard.StartAt, b.Run.Shard.StartAt},
			{"unsharded levels", "shards of one load", a.Run.Shard.Levels, b.Run.Shard.Levels},
			{"request count", "shards of one load", a.Run.Shard.RequestsPerTrial, b.Run.Shard.RequestsPerTrial},
			{"load mode", "shards of one load", a.Run.Load.Mode, b.Run.Load.Mode},
			{"duration", "shards of one load", a.Run.Load.DurationS, b.Run.Load.DurationS},
			{"warm-up", "shards of one load", a.Run.Load.WarmupS, b.Run.Load.WarmupS},
			{"trials", "shards of one load", a.Run.Load.Trials, b.Run.Load.Trials},
			{"engine", "shards of one load", a.Run.Load.Engine, b.Run.Load.Engine},
			{"keep-alive", "shards of one load", a.Run.Load.KeepAlive, b.Run.Load.KeepAlive},
			{"expected status codes", "shards of one load", a.Run.Load.ExpectStatus, b.Run.Load.ExpectStatus},
			{"requests", "shards of one request mix", a.Run.Load.Requests, b.Run.Load.Requests},
			{"servers", "shards that loaded the same servers", targets(a.Run.Servers), targets(b.Run.Servers)},
		} {
			if !reflect.DeepEqual(c.x, c.y) {
				return fmt.Errorf("%w: %s has %s %v but %s has %v (allowed: %s)", ErrMismatch, b.Dir, c.what, show(c.y), a.Dir, show(c.x), c.allowed)
			}
		}
	}
	for _, s := range shards {
		if n := len(s.Run.Load.Levels); n != len(s.Run.Shard.Levels) {
			return fmt.Errorf("%s: %w: %d levels but %d unsharded levels (allowed: one unsharded level per level)", s.Dir, ErrMismatch, n, len(s.Run.Shard.Levels))
		}
	}
	return nil
}

func commit(e results.Environment) string {
	if e.GitDirty {
		return e.GitCommit + " (modified)"
	}
	return e.GitCommit
}

func targets(ss []results.Server) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name + "=" + s.Target + strings.Join(s.Command, " ")
	}
	return out
}

func show(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return `""`
		}
		return strconv.Quote(x)
	case time.Time:
		if x.IsZero() {
			return "(none)"
		}
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
