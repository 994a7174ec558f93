package threshold

import (
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		expr, server, metric, op string
		value                    float64
	}{
		{"p99<200ms", "", "p99", "<", 200},
		{"p99.9 <= 1s", "", "p99.9", "<=", 1000},
		{"single:p50<500us", "single", "p50", "<", 0.5},
		{"errors<0.1%", "", "errors", "<", 0.001},
		{"errors<=0.02", "", "errors", "<=", 0.02},
		{"rps>5000", "", "rps", ">", 5000},
		{"max>=2ms", "", "max", ">=", 2},
	} {
		got, err := Parse(c.expr)
		if err != nil || got.Server != c.server || got.Metric != c.metric || got.Op != c.op || got.Value != c.value {
			t.Errorf("Parse(%q) = %+v, %v; want %s %s %s %v", c.expr, got, err, c.server, c.metric, c.op, c.value)
		}
	}
	for expr, want := range map[string]string{
		"latency<1s":  `unknown metric "latency"`,
		"p99<fast":    `"fast" is not a positive duration`,
		"errors<150%": `is not a share of requests`,
		"rps>-1":      `is not a rate`,
		"rps>NaN":     "is not a rate",
		"rps>Inf":     "is not a rate",
		"errors<NaN":  "is not a share of requests",
		"p99 = 200ms": "not an expression",
		"":            "not an expression",
	} {
		if _, err := Parse(expr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", expr, err, want)
		}
	}
}

func TestCheck(t *testing.T) {
	run := &results.Run{
		Summary: []results.Summary{
			{Server: "a", Level: 8, P99Ms: results.Estimate{Median: 3}, Throughput: results.Estimate{Median: 1000}},
			{Server: "b", Level: 8, P99Ms: results.Estimate{Median: 30}, Throughput: results.Estimate{Median: 900}},
		},
		Trials: []results.Trial{
			{Server: "a", Level: 8, Requests: 100, Successes: 100},
			{Server: "b", Level: 8, Requests: 100, Successes: 90},
			{Server: "b", Level: 8, Requests: 3, Successes: 0, Cut: true}, // left out
		},
	}
	parse := func(e string) Threshold {
		th, err := Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		return th
	}
	v, unknown := Check([]Threshold{parse("p99<10ms"), parse("a:errors<1%"), parse("errors<=10%"), parse("rps>950"), parse("c:p50<1s")}, run)
	var got []string
	for _, x := range v {
		got = append(got, x.String())
	}
	want := []string{
		"threshold p99<10ms failed: b at concurrency 8 measured 30ms",
		"threshold rps>950 failed: b at concurrency 8 measured 900 req/s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(unknown) != 1 || !strings.Contains(unknown[0], `no server "c"`) {
		t.Errorf("unknown = %v", unknown)
	}
}
