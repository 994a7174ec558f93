package report

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

func TestParsePercentiles(t *testing.T) {
	got, err := ParsePercentiles("50, 99,99.99,100")
	if err != nil || len(got) != 4 || got[2] != 99.99 || got[3] != 100 {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-1", "100.1", "p99", "50,,99", "NaN", strings.Repeat("50,", MaxPercentiles) + "50"} {
		if _, err := ParsePercentiles(bad); err == nil {
			t.Errorf("%q: no error", bad)
		} else if !strings.Contains(err.Error(), "allowed") {
			t.Errorf("%q: %v does not say what is allowed", bad, err)
		}
	}
}

func TestPercentileTable(t *testing.T) {
	run := &results.Run{Load: results.LoadInfo{Mode: "closed"}, Servers: []results.Server{{Name: "a"}}}
	all := metrics.NewLatencyHistogram()
	for trial := 1; trial <= 2; trial++ {
		h := metrics.NewLatencyHistogram()
		for i := 1; i <= 1000; i++ {
			v := int64(time.Duration(i*trial) * time.Microsecond)
			h.RecordValue(v)
			all.RecordValue(v)
		}
		run.Trials = append(run.Trials, results.Trial{Server: "a", Level: 4, Trial: trial, Histogram: h})
	}
	run.Trials = append(run.Trials, results.Trial{Server: "a", Level: 4, Trial: 3, Cut: true, Histogram: metrics.NewLatencyHistogram()})
	run.Summary = metrics.Summarize(run.Trials, run.Servers)
	tab, err := PercentileTable(run, []float64{50, 100})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"server", levelHeader("closed"), "trial", "p50", "p100"}; strings.Join(tab.Header, "|") != strings.Join(want, "|") {
		t.Errorf("header %v, want %v", tab.Header, want)
	}
	if len(tab.Rows) != 4 {
		t.Fatalf("%d rows, want 3 trials and the pooled row: %v", len(tab.Rows), tab.Rows)
	}
	pooled := tab.Rows[3]
	if pooled[2] != "all 2" {
		t.Errorf("pooled row %v: the cut trial is counted", pooled)
	}
	if want := fmtMs(float64(all.ValueAtQuantile(50)) / 1e6); pooled[3] != want {
		t.Errorf("pooled p50 %s, want %s (of both trials' requests together)", pooled[3], want)
	}
	if want := fmtMs(float64(all.Max()) / 1e6); pooled[4] != want {
		t.Errorf("pooled max %s, want %s", pooled[4], want)
	}
	if want := fmtMs(float64(run.Trials[1].Histogram.ValueAtQuantile(50)) / 1e6); tab.Rows[1][3] != want {
		t.Errorf("trial 2 p50 %s, want %s", tab.Rows[1][3], want)
	}

	for i := range run.Trials {
		run.Trials[i].Histogram = nil
	}
	if _, err := PercentileTable(run, []float64{50}); !errors.Is(err, ErrNoHistograms) {
		t.Errorf("a run without histograms: %v, want ErrNoHistograms", err)
	}
}
