package gate

import (
	"fmt"
	"strings"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Names of the metrics the gate knows.
const (
	Throughput = "throughput" // successful requests per second; higher is better
	P50        = "p50"        // median latency (open loop: from the intended send time); lower is better
	P99        = "p99"        // 99th percentile latency; lower is better
	CPU        = "cpu"        // server CPU time (whole process tree) per request; lower is better
)

// MetricNames lists the metrics in display order.
func MetricNames() []string { return []string{CPU, P50, P99, Throughput} }

// DefaultMetrics are the metrics gated for a load mode: at a fixed
// (open-loop) rate the latency percentiles and CPU per request, since
// throughput only echoes the rate; under closed loop (saturation)
// throughput and CPU per request, since latency there is queueing.
func DefaultMetrics(mode string) []string {
	if mode == "closed" {
		return []string{CPU, Throughput}
	}
	return []string{CPU, P50, P99}
}

// MinSuccessRatio is the share of 2xx responses below which a trial is
// counted as failed for every metric (an erroring server's latency and
// CPU per request are not comparable).
const MinSuccessRatio = 0.95

// Def describes a metric: how to print it, which way is better, its unit
// in the Go benchmark format and how to read it from a trial.
type Def struct {
	Name      string  // one of the names above
	Label     string  // column label
	Unit      string  // display unit of the values
	Better    Better  // direction of improvement
	BenchUnit string  // unit in the Go benchmark format (base units)
	BenchMul  float64 // value × BenchMul = value in BenchUnit
}

// Lookup returns the definition of a metric name.
func Lookup(name string) (Def, error) {
	switch name {
	case Throughput:
		return Def{Name: Throughput, Label: "throughput", Unit: "req/s", Better: HigherIsBetter, BenchUnit: "req/s", BenchMul: 1}, nil
	case P50:
		return Def{Name: P50, Label: "p50 latency", Unit: "ms", Better: LowerIsBetter, BenchUnit: "p50-latency-sec", BenchMul: 1e-3}, nil
	case P99:
		return Def{Name: P99, Label: "p99 latency", Unit: "ms", Better: LowerIsBetter, BenchUnit: "p99-latency-sec", BenchMul: 1e-3}, nil
	case CPU:
		return Def{Name: CPU, Label: "server CPU/req", Unit: "µs", Better: LowerIsBetter, BenchUnit: "cpu-sec/req", BenchMul: 1e-6}, nil
	}
	return Def{}, fmt.Errorf("unknown metric %q (allowed: %s)", name, strings.Join(MetricNames(), ", "))
}

// ParseMetrics parses a comma-separated metric list ("cpu,p99").
func ParseMetrics(list string) ([]Def, error) {
	var defs []Def
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		d, err := Lookup(name)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("metric %q listed twice", name)
		}
		seen[name] = true
		defs = append(defs, d)
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("empty metric list (allowed: %s)", strings.Join(MetricNames(), ", "))
	}
	return defs, nil
}

// Value reads the metric from a trial; ok is false when the trial has no
// valid value for it (nothing succeeded, the success ratio fell below
// MinSuccessRatio, no CPU reading).
func (d Def) Value(t results.Trial) (v float64, ok bool) {
	if t.Successes <= 0 || t.Requests <= 0 || t.SuccessRatio < MinSuccessRatio {
		return 0, false
	}
	switch d.Name {
	case Throughput:
		return t.Throughput, t.Throughput > 0
	case P50:
		return t.Latency.P50Ms, t.Latency.P50Ms > 0
	case P99:
		return t.Latency.P99Ms, t.Latency.P99Ms > 0
	case CPU:
		return t.ServerCPUPerReqUs, t.ServerCPUS > 0 && t.ServerCPUPerReqUs > 0
	}
	return 0, false
}

// FromTrials builds one Metric per definition from the base and head
// trials; trials without a valid value are counted as failed.
func FromTrials(defs []Def, base, head []results.Trial) []Metric {
	ms := make([]Metric, len(defs))
	for i, d := range defs {
		m := Metric{Def: d}
		for _, t := range base {
			if v, ok := d.Value(t); ok {
				m.Base = append(m.Base, v)
			} else {
				m.BaseFailed++
			}
		}
		for _, t := range head {
			if v, ok := d.Value(t); ok {
				m.Head = append(m.Head, v)
			} else {
				m.HeadFailed++
			}
		}
		ms[i] = m
	}
	return ms
}
