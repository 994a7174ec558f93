// Package metrics turns what a run measured into figures. Two halves:
//
//   - Measuring (accumulator.go, cpu.go): an Accumulator fed by every request
//     of a trial (a sample of the lean engine or a vegeta result) (HdrHistogram latency, status codes, a normalised
//     error set, per-server-worker tallies, and on request a timeline of
//     the trial in 100ms buckets, timeline.go) in O(1) without allocation,
//     and the CPU time of this process and of a server's process group. An
//     Accumulator belongs to one goroutine.
//   - Statistics (aggregate.go, fairness.go): the median and 95% confidence
//     interval of a metric across trials (Estimate), the summary of every
//     server × level (Summarize), and how evenly a server spread its
//     requests over its workers (Fairness, Jain's index). These are pure
//     functions of their arguments: no I/O, no clock, no shared state, safe
//     to call from any goroutine.
package metrics

import (
	"math"

	"github.com/montanaflynn/stats"
	"golang.org/x/perf/benchmath"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Confidence is the level of the interval Estimate computes.
const Confidence = 0.95

// MinTrialsForCI is the fewest trials for which a distribution-free 95%
// interval of the median exists (the 1st and 6th of 6 order statistics
// cover the median with probability 1 - 2·0.5⁶ ≈ 0.969).
const MinTrialsForCI = 6

// Estimate summarises one metric across trials: the median, and the 95%
// confidence interval of the median from binomial order statistics
// (x/perf benchmath.AssumeNothing, as benchstat prints it; no assumption
// about the distribution). The interval's true coverage, which is at least
// 95%, is stored in Confidence.
//
// With fewer than MinTrialsForCI values no such interval exists: Lo and Hi
// then equal Median and Confidence is 0 (the results contract), while Min
// and Max still show the spread. n=1 gives Median=Min=Max=the value; n=2
// gives the mean of the two as the median. Non-finite values (NaN, ±Inf)
// are ignored; no values at all give the zero Estimate.
//
// values is not modified.
func Estimate(values []float64) results.Estimate { return EstimateAt(values, Confidence) }

// EstimateAt is Estimate with the interval at another confidence level
// (0 < confidence < 1): the fewer trials a level allows, the more it needs
// for an interval; below that, Lo = Hi = Median and Confidence is 0
// (results.Estimate.Bounded is false).
func EstimateAt(values []float64, confidence float64) results.Estimate {
	xs := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return results.Estimate{}
	}
	th := benchmath.DefaultThresholds
	s := benchmath.NewSample(xs, &th) // sorts xs, our copy
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	e := results.Estimate{
		Median: sum.Center, Lo: sum.Lo, Hi: sum.Hi, N: len(xs),
		Min: xs[0], Max: xs[len(xs)-1], Confidence: sum.Confidence,
	}
	// benchmath's interval is unbounded (±Inf) when the values are too
	// few for the level: below MinTrialsForCI at 95%.
	if math.IsInf(e.Lo, 0) || math.IsInf(e.Hi, 0) {
		e.Lo, e.Hi, e.Confidence = e.Median, e.Median, 0
	}
	return e
}

// Summarize aggregates trials into one Summary per server × level, in the
// order in which each pair first appears in trials. servers gives each
// server's expected worker count (ExpectedWorkers) for the fairness
// figures; a server missing from it counts only the workers seen.
//
// Per metric it takes the Estimate across the pair's trials. ClientBound and
// RateShortfall are set when any trial set them. Workers merges the
// per-worker tallies of every trial (MergeWorkers) and Fairness is computed
// over the merged request counts.
func Summarize(trials []results.Trial, servers []results.Server) []results.Summary {
	type key struct {
		server string
		level  int
	}
	var order []key
	groups := map[key][]results.Trial{}
	for _, t := range trials {
		k := key{t.Server, t.Level}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], t)
	}
	expected := map[string]int{}
	for _, s := range servers {
		expected[s.Name] = ExpectedWorkers(s)
	}
	out := make([]results.Summary, 0, len(order))
	for _, k := range order {
		out = append(out, summarizeOne(k.server, k.level, groups[k], expected[k.server]))
	}
	return out
}

// Measured returns the trials that ran to the end: the trials cut short
// by an interruption are left out, unless every trial was cut (then all
// are returned, so that the figures are theirs rather than none).
func Measured(ts []results.Trial) []results.Trial {
	whole := make([]results.Trial, 0, len(ts))
	for _, t := range ts {
		if !t.Cut {
			whole = append(whole, t)
		}
	}
	if len(whole) == 0 {
		return ts
	}
	return whole
}

// RowTrials returns the measured trials (Measured) of one server at one
// level: the trials a summary row stands for.
func RowTrials(trials []results.Trial, server string, level int) []results.Trial {
	var row []results.Trial
	for _, t := range trials {
		if t.Server == server && t.Level == level {
			row = append(row, t)
		}
	}
	return Measured(row)
}

func summarizeOne(server string, level int, all []results.Trial, expected int) results.Summary {
	ts := Measured(all)
	cut := 0
	for _, t := range all {
		if t.Cut {
			cut++
		}
	}
	pick := func(f func(results.Trial) float64) results.Estimate {
		v := make([]float64, len(ts))
		for i, t := range ts {
			v[i] = f(t)
		}
		return Estimate(v)
	}
	s := results.Summary{
		Server:            server,
		Level:             level,
		Trials:            len(ts),
		CutTrials:         cut,
		OnlyCut:           cut > 0 && cut == len(all),
		Throughput:        pick(func(t results.Trial) float64 { return t.Throughput }),
		AchievedRate:      pick(func(t results.Trial) float64 { return t.AchievedRate }),
		P50Ms:             pick(func(t results.Trial) float64 { return t.Latency.P50Ms }),
		P90Ms:             pick(func(t results.Trial) float64 { return t.Latency.P90Ms }),
		P99Ms:             pick(func(t results.Trial) float64 { return t.Latency.P99Ms }),
		P999Ms:            pick(func(t results.Trial) float64 { return t.Latency.P999Ms }),
		MaxMs:             pick(func(t results.Trial) float64 { return t.Latency.MaxMs }),
		SuccessRatio:      pick(func(t results.Trial) float64 { return t.SuccessRatio }),
		ServerCPUPerReqUs: pick(func(t results.Trial) float64 { return t.ServerCPUPerReqUs }),
		ClientCPUUtil:     pick(func(t results.Trial) float64 { return t.ClientCPUUtil }),
	}
	sets := make([][]results.Worker, len(ts))
	for i, t := range ts {
		s.ClientBound = s.ClientBound || t.ClientBound
		s.RateShortfall = s.RateShortfall || t.RateShortfall
		sets[i] = t.Workers
	}
	s.Workers = MergeWorkers(sets...)
	s.Fairness = WorkerFairness(s.Workers, expected)
	return s
}

// ExpectedWorkers is how many workers a server is known to run, for
// Fairness: 1 for the single model, Workers for pool and prefork, and 0
// (unknown: count only the workers seen) for external commands and
// anything else.
func ExpectedWorkers(s results.Server) int {
	switch s.Model {
	case "single":
		return 1
	case "pool", "prefork":
		return max(s.Workers, 0)
	}
	return 0
}

// Median is the median of xs by montanaflynn/stats: the middle value, or
// the mean of the middle two for an even count. It is NaN for no values (a
// median of nothing is undefined, and NaN cannot pass for a measured
// figure): a caller that shows one checks len(xs) or math.IsNaN first. xs
// is not modified (the library sorts a copy). The project's one median of
// plain values; Estimate adds an interval.
func Median(xs []float64) float64 {
	m, _ := stats.Median(xs) // NaN and an error for no values
	return m
}
