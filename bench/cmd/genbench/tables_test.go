//go:build linux

package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/report"
)

// fixture is two closed-loop rounds of wrk and lean against single and
// fast, and one open-loop round of lean at two fractions against each.
func fixture() (closed, open []sample) {
	c := func(round int, server, gen string, requests int64, cpuMs int, bound bool, p50 float64) sample {
		s := sample{round: round, mode: load.Closed, server: server, gen: gen, requests: requests,
			wall: time.Second, cpu: time.Duration(cpuMs) * time.Millisecond}
		if gen == load.EngineLean {
			s.trial, s.clientBound, s.achieved, s.p50, s.p99 = true, bound, float64(requests), p50, 4*p50
		}
		return s
	}
	closed = []sample{
		c(1, "single", "wrk", 20000, 300, false, 0), c(1, "single", "lean", 21000, 280, false, 3),
		c(1, "fast", "wrk", 90000, 990, false, 0), c(1, "fast", "lean", 80000, 990, true, 0.8),
		c(2, "single", "wrk", 22000, 310, false, 0), c(2, "single", "lean", 21000, 290, false, 3.2),
		c(2, "fast", "wrk", 88000, 990, false, 0), c(2, "fast", "lean", 82000, 990, false, 0.7),
	}
	o := func(server string, f float64, asked int, sent float64, dropped int64, p50 float64) sample {
		return sample{round: 1, mode: load.Open, server: server, gen: load.EngineLean, fraction: f, asked: asked,
			requests: int64(sent), errors: 1, wall: time.Second, cpu: 400 * time.Millisecond, trial: true,
			achieved: sent, shortfall: sent < 0.95*float64(asked), clientBound: f == 1, dropped: dropped, p50: p50, p99: 10 * p50}
	}
	open = []sample{
		o("single", 0.5, 10500, 10500, 0, 0.2), o("single", 1, 21000, 19000, 120, 40),
		o("fast", 0.5, 40500, 40490, 0, 0.1), o("fast", 1, 81000, 70000, 5000, 900),
	}
	return closed, open
}

func TestTablesGolden(t *testing.T) {
	closed, open := fixture()
	var b bytes.Buffer
	doc := report.Document{Title: "genbench", Tables: []report.Table{summarise(closed), summariseOpen(open, closed)}}
	if err := report.WriteText(&b, doc); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "tables.golden", b.Bytes())
	b.Reset()
	if err := report.WriteCSV(&b, roundsTable(append(closed, open...))); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "rounds.csv.golden", b.Bytes())
}

func TestClosedMaxAndAskedRate(t *testing.T) {
	closed, _ := fixture()
	m := closedMax(closed)
	if len(m) != 2 || m["single"] != 21000 || m["fast"] != 81000 {
		t.Errorf("closedMax = %v; want single 21000, fast 81000 (lean only)", m)
	}
	for _, c := range []struct {
		top, f float64
		want   int
	}{{81000, 0.5, 40500}, {1001, 0.5, 501}, {3, 0.1, 1}, {0, 1, 1}, {21000.4, 0.8, 16800}} {
		if got := askedRate(c.top, c.f); got != c.want {
			t.Errorf("askedRate(%g, %g) = %d; want %d", c.top, c.f, got, c.want)
		}
	}
}

func TestEstimate(t *testing.T) {
	o, err := parse(io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The defaults: 5 × 2 × 2 closed and 3 × 2 × 3 open measurements of
	// 1s warm-up + 3s, under three minutes in all.
	got := estimate(o, 2, 2, true)
	if want := "about 2m42s ("; !strings.HasPrefix(got, want) {
		t.Errorf("estimate = %q; want it to start %q", got, want)
	}
	if got := estimate(o, 2, 2, false); !strings.HasPrefix(got, "about 1m25s (") || strings.Contains(got, "open") {
		t.Errorf("estimate without the open loop = %q", got)
	}
}

func TestParseOpenFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--open-rounds", "1"}, true},
		{[]string{"--open-rounds", "0"}, false},
		{[]string{"--open-fractions", "0.25,1.5"}, true},
		{[]string{"--open-fractions", "0"}, false},
		{[]string{"--open=false"}, true},
		{[]string{"--open-fractions", ""}, false},
	} {
		if _, err := parse(io.Discard, c.args); (err == nil) != c.ok {
			t.Errorf("parse(%q): error %v; want ok %v", c.args, err, c.ok)
		}
	}
}
