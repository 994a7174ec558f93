// Package threshold checks a run's figures against pass/fail limits in
// the k6 habit: "p99<200ms", "errors<0.1%", "rps>5000", optionally for one
// server ("single:p99<5ms"). A run whose figures break a limit fails
// (exit 1) after everything was written.
package threshold

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Metrics are the names a threshold may use: latency percentiles of the
// median trial (a duration: 200ms, 1s, 500us), errors (the share of
// requests that failed or answered outside 2xx: 0.1% or 0.001) and rps
// (successful requests per second, median across trials).
var Metrics = []string{"p50", "p90", "p99", "p99.9", "max", "errors", "rps"}

// Threshold is one parsed limit.
type Threshold struct {
	Expr   string  // as written
	Server string  // "" for every server
	Metric string  // one of Metrics
	Op     string  // <, <=, >, >=
	Value  float64 // ms for latencies, a fraction for errors, req/s for rps
}

var form = regexp.MustCompile(`^(?:([a-z0-9][a-z0-9._-]*):)?\s*([a-z0-9.]+)\s*(<=|>=|<|>)\s*(\S+)$`)

// Allowed describes the syntax, for error messages.
const Allowed = "[SERVER:]METRIC<VALUE or >, <=, >=; METRIC one of p50, p90, p99, p99.9, max (a duration such as 200ms), errors (a percentage such as 1%), rps (a number)"

// Parse reads one threshold expression.
func Parse(expr string) (Threshold, error) {
	m := form.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return Threshold{}, fmt.Errorf("threshold %q: not an expression (allowed: %s)", expr, Allowed)
	}
	t := Threshold{Expr: strings.TrimSpace(expr), Server: m[1], Metric: m[2], Op: m[3]}
	v := m[4]
	switch t.Metric {
	case "p50", "p90", "p99", "p99.9", "max":
		d, err := time.ParseDuration(strings.ReplaceAll(v, "µs", "us"))
		if err != nil || d <= 0 {
			return t, fmt.Errorf("threshold %q: %q is not a positive duration (allowed: e.g. 200ms, 1s, 500us)", expr, v)
		}
		t.Value = float64(d) / float64(time.Millisecond)
	case "errors":
		f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if strings.HasSuffix(v, "%") {
			f /= 100
		}
		if err != nil || !(f >= 0 && f <= 1) { // NaN fails both
			return t, fmt.Errorf("threshold %q: %q is not a share of requests (allowed: 0%%..100%%, e.g. 0.1%%, or 0..1)", expr, v)
		}
		t.Value = f
	case "rps":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0) || math.IsInf(f, 0) {
			return t, fmt.Errorf("threshold %q: %q is not a rate (allowed: a number of requests per second ≥ 0)", expr, v)
		}
		t.Value = f
	default:
		return t, fmt.Errorf("threshold %q: unknown metric %q (allowed: %s)", expr, t.Metric, strings.Join(Metrics, ", "))
	}
	return t, nil
}

// Violation is a threshold a server broke at one level.
type Violation struct {
	Threshold Threshold
	Server    string
	Mode      string // the run's load mode, "closed" or "open"
	Level     int
	Measured  float64 // in the threshold's unit
}

func (v Violation) String() string {
	return fmt.Sprintf("threshold %s failed: %s at %s measured %s", v.Threshold.Expr, v.Server, results.LevelName(v.Mode, v.Level), format(v.Threshold.Metric, v.Measured))
}

func format(metric string, v float64) string {
	switch metric {
	case "errors":
		return strconv.FormatFloat(100*v, 'g', 4, 64) + "%"
	case "rps":
		return strconv.FormatFloat(v, 'f', 0, 64) + " req/s"
	}
	return time.Duration(v * float64(time.Millisecond)).Round(time.Microsecond).String()
}

// Check evaluates every threshold against every server × level of run
// (the trials cut short by an interruption left out, as in the summary).
// A threshold naming a server the run lacks is reported as unknown.
func Check(ts []Threshold, run *results.Run) (violations []Violation, unknown []string) {
	for _, t := range ts {
		matched := false
		for _, s := range run.Summary {
			if t.Server != "" && t.Server != s.Server {
				continue
			}
			matched = true
			v := measure(t.Metric, s, run.Trials)
			if !holds(t.Op, v, t.Value) {
				violations = append(violations, Violation{Threshold: t, Server: s.Server, Mode: run.Load.Mode, Level: s.Level, Measured: v})
			}
		}
		if !matched && t.Server != "" {
			unknown = append(unknown, fmt.Sprintf("threshold %s: no server %q in the run", t.Expr, t.Server))
		}
	}
	return violations, unknown
}

func measure(metric string, s results.Summary, trials []results.Trial) float64 {
	switch metric {
	case "p50":
		return s.P50Ms.Median
	case "p90":
		return s.P90Ms.Median
	case "p99":
		return s.P99Ms.Median
	case "p99.9":
		return s.P999Ms.Median
	case "max":
		return s.MaxMs.Median
	case "rps":
		return s.Throughput.Median
	}
	var reqs, ok int64 // errors: failed, non-2xx, and open-loop requests dropped unsent
	for _, t := range metrics.RowTrials(trials, s.Server, s.Level) {
		reqs += t.Requests + t.Dropped
		ok += t.Successes
	}
	if reqs == 0 {
		return 1 // nothing answered: every request failed
	}
	return float64(reqs-ok) / float64(reqs)
}

func holds(op string, measured, limit float64) bool {
	switch op {
	case "<":
		return measured < limit
	case "<=":
		return measured <= limit
	case ">":
		return measured > limit
	}
	return measured >= limit
}
