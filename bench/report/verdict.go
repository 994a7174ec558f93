package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Verdict is what a run found, stated before its tables: at each level,
// the servers ranked by throughput, by p99 latency and by server CPU per
// request, each with its ratio to the best and whether the difference
// from the best is real (the 95% intervals of the two medians do not
// overlap) or within noise; and every server × level at which the load
// generator was likely the bottleneck (client-bound: the server may be
// faster than its figures there show). It only reads the run's
// Estimates: it computes no statistic of its own.
type Verdict struct {
	Mode        string         // the run's load mode: levels are concurrency (closed) or rate/s (open)
	Levels      []LevelVerdict // ascending level
	ClientBound []BoundPoint   // in the run's summary order
}

// LevelVerdict ranks the servers measured at one level.
type LevelVerdict struct {
	Level int
	// Rankings: throughput, p99, server CPU per request, in that order.
	Rankings []Ranking
}

// Metric names what a Ranking ranks.
type Metric string

// The metrics a verdict ranks.
const (
	MetricThroughput Metric = "req/s"      // successful responses per second; higher is better
	MetricP99        Metric = "p99 ms"     // 99th percentile latency; lower is better
	MetricCPU        Metric = "cpu/req µs" // server CPU time per request; lower is better
)

// Ranking orders the servers of one level by the median of one metric,
// best first; servers with equal medians keep the run's order.
type Ranking struct {
	Metric         Metric
	HigherIsBetter bool
	Entries        []Ranked
	// Missing names the servers without this figure (server CPU not
	// measured, or a latency of 0: no response), in the run's order.
	Missing []string
}

// Ranked is one server in a Ranking.
type Ranked struct {
	Server   string
	Estimate results.Estimate
	// Ratio is Estimate.Median over the best entry's median (1 for the best);
	// 0 when the best median is 0 and no ratio exists.
	Ratio float64
	// Versus says how this entry compares with the best.
	Versus Difference
	// ClientBound: the load generator was likely the bottleneck in some
	// trial of this server at this level (the table's flag C).
	ClientBound bool
	// Errors: some responses were not 2xx (the table's flag E); a server
	// that fails fast can rank well on latency.
	Errors bool
}

// Difference is how an entry of a Ranking compares with the best entry.
type Difference int

// Differences, from the Estimates' 95% intervals of the median.
const (
	Best       Difference = iota // the entry is the best (the first)
	Real                         // the two intervals do not overlap
	Noise                        // the two intervals overlap: within noise
	Tied                         // equal medians, and no interval to say more
	NoInterval                   // a different median, but too few trials for an interval
)

// BoundPoint is a server × level where the load generator was likely the
// bottleneck in Bound of Trials trials.
type BoundPoint struct {
	Server        string
	Level         int
	Bound, Trials int
}

// VerdictOf builds the Verdict of a run from its summary rows (and, for
// the client-bound counts, its trials). It is a pure function of run.
func VerdictOf(run *results.Run) Verdict {
	v := Verdict{Mode: run.Load.Mode}
	byLevel := map[int][]results.Summary{}
	var levels []int
	for _, s := range run.Summary {
		if _, ok := byLevel[s.Level]; !ok {
			levels = append(levels, s.Level)
		}
		byLevel[s.Level] = append(byLevel[s.Level], s)
		if s.ClientBound {
			p := BoundPoint{Server: s.Server, Level: s.Level}
			for _, t := range metrics.RowTrials(run.Trials, s.Server, s.Level) {
				p.Trials++
				if t.ClientBound {
					p.Bound++
				}
			}
			v.ClientBound = append(v.ClientBound, p)
		}
	}
	slices.Sort(levels)
	for _, l := range levels {
		rows := byLevel[l]
		v.Levels = append(v.Levels, LevelVerdict{Level: l, Rankings: []Ranking{
			rank(rows, MetricThroughput, true, func(s results.Summary) results.Estimate { return s.Throughput }, false),
			rank(rows, MetricP99, false, func(s results.Summary) results.Estimate { return s.P99Ms }, true),
			rank(rows, MetricCPU, false, func(s results.Summary) results.Estimate { return s.ServerCPUPerReqUs }, true),
		}})
	}
	return v
}

// rank orders rows by the median of one figure. zeroMissing: a median ≤ 0
// means the figure was not measured (CPU time, a latency with no response).
func rank(rows []results.Summary, m Metric, higher bool, fig func(results.Summary) results.Estimate, zeroMissing bool) Ranking {
	r := Ranking{Metric: m, HigherIsBetter: higher}
	for _, s := range rows {
		e := fig(s)
		if e.N == 0 || zeroMissing && e.Median <= 0 {
			r.Missing = append(r.Missing, s.Server)
			continue
		}
		r.Entries = append(r.Entries, Ranked{Server: s.Server, Estimate: e, ClientBound: s.ClientBound,
			Errors: hasErrors(s)})
	}
	slices.SortStableFunc(r.Entries, func(a, b Ranked) int {
		if higher {
			return cmp.Compare(b.Estimate.Median, a.Estimate.Median)
		}
		return cmp.Compare(a.Estimate.Median, b.Estimate.Median)
	})
	for i := range r.Entries {
		r.Entries[i].Versus, r.Entries[i].Ratio = compare(r.Entries[0].Estimate, r.Entries[i].Estimate, i == 0)
	}
	return r
}

// compare judges e against the best estimate.
func compare(best, e results.Estimate, isBest bool) (Difference, float64) {
	ratio := 0.0
	if best.Median != 0 {
		ratio = e.Median / best.Median
	}
	switch {
	case isBest:
		return Best, 1
	case best.Confidence > 0 && e.Confidence > 0:
		if e.Hi < best.Lo || e.Lo > best.Hi {
			return Real, ratio
		}
		return Noise, ratio
	case e.Median == best.Median:
		return Tied, ratio
	}
	return NoInterval, ratio
}

// Legend explains the words of the verdict lines.
func (v Verdict) Legend() []string {
	var l []string
	for _, lv := range v.Levels {
		if _, solo := singleServer(lv); !solo {
			l = []string{
				"verdict: per level, the servers ranked by their median across trials; ×: ratio to the best;",
				"  real: the 95% intervals of the two medians do not overlap; noise: they overlap (maybe chance).",
			}
			break
		}
	}
	for _, lv := range v.Levels {
		for _, r := range lv.Rankings {
			for _, e := range r.Entries {
				if e.Errors {
					return append(l, "(E): some responses were not 2xx; a server that fails fast can rank well on latency.")
				}
			}
		}
	}
	return l
}

// Lines renders the verdict as plain text, one line per level and metric
// (one line with the figures, unranked, for a level with a single server), then one line for every
// client-bound point together. Levels are named as in the tables.
//
// When no ranking has an interval (fewer than 6 trials everywhere), one
// line says so for all of them instead of a remark on each.
func (v Verdict) Lines() []string {
	allNone, ranked, minN, maxN := true, false, 0, 0
	for _, lv := range v.Levels {
		for _, r := range lv.Rankings {
			if len(r.Entries) < 2 {
				continue
			}
			none, lo, hi := r.intervals()
			if !ranked {
				minN, maxN = lo, hi
			}
			ranked, allNone = true, allNone && none
			minN, maxN = min(minN, lo), max(maxN, hi)
		}
	}
	once := ranked && allNone
	width := len(results.LevelName(v.Mode, maxLevel(v))) // the longest label: levels align
	var out []string
	for _, lv := range v.Levels {
		label := results.LevelName(v.Mode, lv.Level)
		if only, ok := singleServer(lv); ok {
			out = append(out, fmt.Sprintf("%s: %s alone: %s", label, only, soloFigures(lv)))
			continue
		}
		for _, r := range lv.Rankings {
			out = append(out, fmt.Sprintf("%-*s  %-10s  %s", width, label, string(r.Metric), r.line(!once)))
		}
	}
	if once {
		out = append(out, fmt.Sprintf("not proven: %s trials per server, too few for a 95%% interval (%d needed); the order may be noise",
			trialRange(minN, maxN), metrics.MinTrialsForCI))
	}
	if len(v.ClientBound) > 0 {
		pts := make([]string, len(v.ClientBound))
		for i, p := range v.ClientBound {
			pts[i] = fmt.Sprintf("%s at %s (%d of %d trials)", p.Server, results.LevelName(v.Mode, p.Level), p.Bound, p.Trials)
		}
		out = append(out, "(C) client-bound, the server may be faster than shown: "+strings.Join(pts, ", "))
	}
	return out
}

func maxLevel(v Verdict) int {
	m := 0
	for _, lv := range v.Levels {
		m = max(m, lv.Level)
	}
	return m
}

// singleServer reports the one server measured at a level, if only one was.
func singleServer(lv LevelVerdict) (string, bool) {
	names := map[string]bool{}
	for _, r := range lv.Rankings {
		for _, e := range r.Entries {
			names[e.Server] = true
		}
		for _, s := range r.Missing {
			names[s] = true
		}
	}
	for n := range names {
		return n, len(names) == 1
	}
	return "", false
}

// soloFigures states a single server's figures with their spread.
func soloFigures(lv LevelVerdict) string {
	var parts []string
	var flags Ranked
	for _, r := range lv.Rankings {
		if len(r.Entries) == 0 {
			parts = append(parts, string(r.Metric)+" not measured")
			continue
		}
		e := r.Entries[0]
		parts = append(parts, string(r.Metric)+" "+r.value(e.Estimate)+spread(e.Estimate))
		flags.ClientBound = flags.ClientBound || e.ClientBound
		flags.Errors = flags.Errors || e.Errors
	}
	return strings.Join(parts, ", ") + marks(flags)
}

// value prints an entry's median as the summary table does: p99 in ms,
// the other metrics as figures.
func (r Ranking) value(e results.Estimate) string {
	if r.Metric == MetricP99 {
		return fmtMs(e.Median)
	}
	return fmtFigure(e.Median)
}

// marks are the table's flags of an entry, in parentheses: " (C)",
// " (E)", " (CE)"; "" for none.
func marks(e Ranked) string {
	f := ""
	if e.ClientBound {
		f += FlagClientBound
	}
	if e.Errors {
		f += FlagErrors
	}
	if f == "" {
		return ""
	}
	return " (" + f + ")"
}

// intervals reports whether no entry has an interval, and the fewest and
// most trials of the entries.
func (r Ranking) intervals() (none bool, minN, maxN int) {
	none = true
	for i, e := range r.Entries {
		if e.Estimate.Confidence > 0 {
			none = false
		}
		if i == 0 {
			minN, maxN = e.Estimate.N, e.Estimate.N
		}
		minN, maxN = min(minN, e.Estimate.N), max(maxN, e.Estimate.N)
	}
	return none, minN, maxN
}

// fmtRatioTo prints a ratio to the best: two decimals below 10 (0.94×,
// 1.05×), none above (109×).
func fmtRatioTo(r float64) string {
	if r >= 10 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

func trialRange(lo, hi int) string {
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return strconv.Itoa(lo) + "–" + strconv.Itoa(hi)
}

// line renders one ranking: the best with its value, then each other
// server with its ratio and how it compares; when no entry has an
// interval, a closing remark (if remark) says so instead of a word per
// entry.
func (r Ranking) line(remark bool) string {
	if len(r.Entries) == 0 {
		return "not measured"
	}
	noneHasCI, minN, maxN := r.intervals()
	parts := make([]string, len(r.Entries))
	for i, e := range r.Entries {
		if i == 0 {
			parts[i] = e.Server + " " + r.value(e.Estimate) + marks(e)
			continue
		}
		ratio := "-"
		if r.Entries[0].Estimate.Median != 0 {
			ratio = fmtRatioTo(e.Ratio)
		}
		word := ""
		switch e.Versus {
		case Real:
			word = " real"
		case Noise:
			word = " noise"
		case Tied:
			word = " tied"
		case NoInterval:
			if !noneHasCI {
				word = " (no interval)"
			}
		}
		parts[i] = e.Server + " " + ratio + word + marks(e)
	}
	s := strings.Join(parts, ", ")
	if len(r.Missing) > 0 {
		s += "; not measured: " + strings.Join(r.Missing, ", ")
	}
	if remark && noneHasCI && len(r.Entries) > 1 {
		s += fmt.Sprintf(" (%s trials: too few for a 95%% interval, %d needed; the order may be noise)", trialRange(minN, maxN), metrics.MinTrialsForCI)
	}
	return s
}
