package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// MaxPercentiles bounds how many percentiles one table shows.
const MaxPercentiles = 16

// ParsePercentiles reads a comma-separated list of percentiles, each in
// (0, 100] ("100" is the maximum), e.g. "50,99,99.99".
func ParsePercentiles(s string) ([]float64, error) {
	var qs []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		q, err := strconv.ParseFloat(f, 64)
		if err != nil || !(q > 0 && q <= 100) {
			return nil, fmt.Errorf("percentile %q (allowed: numbers in (0, 100], comma-separated, e.g. 50,99,99.99)", f)
		}
		qs = append(qs, q)
	}
	if len(qs) > MaxPercentiles {
		return nil, fmt.Errorf("%d percentiles (allowed: at most %d)", len(qs), MaxPercentiles)
	}
	return qs, nil
}

// ErrNoHistograms is PercentileTable's error for a run directory that
// predates histograms.hlog: only the percentiles in its summary exist.
var ErrNoHistograms = errors.New("the run has no latency histograms (histograms.hlog): it was written before they were saved; its summary has p50, p90, p99, p99.9 and max only")

// PercentileTable computes latency percentiles qs from the trials'
// histograms: one row per trial, then one per server and level with every
// measured trial's requests pooled (cut trials left out unless nothing
// else was measured, as in the summary). Values are milliseconds.
func PercentileTable(run *results.Run, qs []float64) (Table, error) {
	if !HasHistograms(run) {
		return Table{}, ErrNoHistograms
	}
	t := Table{Title: "Latency percentiles from histograms.hlog (ms)", Header: []string{"server", levelHeader(run.Load.Mode), "trial"}, Align: []Align{Left, Right, Right},
		Legend: levelLegend(run.Load.Mode)}
	for _, q := range qs {
		t.Header = append(t.Header, "p"+strconv.FormatFloat(q, 'f', -1, 64))
		t.Align = append(t.Align, Right)
	}
	row := func(server string, level int, trial string, pct []float64) {
		r := []string{server, strconv.Itoa(level), trial}
		for _, v := range pct {
			r = append(r, fmtMs(v))
		}
		t.Rows = append(t.Rows, r)
	}
	for _, tr := range run.Trials {
		if tr.Histogram != nil {
			row(tr.Server, tr.Level, strconv.Itoa(tr.Trial), hlog.Percentiles(tr.Histogram, qs))
		}
	}
	for _, s := range run.Summary {
		if h, n := metrics.TrialsHistogram(metrics.RowTrials(run.Trials, s.Server, s.Level)); n > 0 {
			row(s.Server, s.Level, fmt.Sprintf("all %d", n), hlog.Percentiles(h, qs))
		}
	}
	t.Notes = []string{"\"all N\": the requests of the level's N measured trials together (cut trials left out, as in the summary)."}
	return t, nil
}
