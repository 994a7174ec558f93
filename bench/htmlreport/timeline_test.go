package htmlreport_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/htmlreport"
	"github.com/clusterbench/clusterbench/bench/results"
)

// faultRun is a hand-made fault run (every number invented): one server
// at 1000 req/s, three trials of 30 buckets of 100ms; a worker is killed
// at 1.05s and SIGHUP comes at 2.05s. The trials lose 2, 6 and 9 requests
// in the kill's bucket, so trial 2 is the median one; trial 3's SIGHUP is
// not applied.
func faultRun() *results.Run {
	run := &results.Run{Schema: results.Schema, Scenario: results.ScenarioInfo{Name: "faults"}, Complete: true,
		Load:    results.LoadInfo{Mode: "open", Levels: []int{1000}, DurationS: 3, Trials: 3, KeepAlive: true, Engine: "lean"},
		Servers: []results.Server{{Name: "prefork", Model: "prefork", Workers: 2}},
		Summary: []results.Summary{{Server: "prefork", Level: 1000, Trials: 3}},
	}
	for trial, lost := range []int64{2, 6, 9} {
		tl := &results.Timeline{BucketMs: 100}
		for i := range 30 {
			b := results.TimelineBucket{StartMs: float64(i * 100), OK: 100, OKPerS: 1000}
			if i == 10 {
				b.OK, b.OKPerS, b.Reset = 100-lost, float64(1000-10*lost), lost
			}
			tl.Buckets = append(tl.Buckets, b)
		}
		evs := []results.FaultEvent{
			{Index: 0, Name: "kill -9 worker (random)", AtMs: 1050, Applied: true, Failed: results.Failures{Reset: lost}},
			{Index: 1, Name: "SIGHUP", AtMs: 2050, Applied: trial != 2},
		}
		run.Trials = append(run.Trials, results.Trial{Server: "prefork", Level: 1000, Trial: trial + 1, DurationS: 3, Timeline: tl, Faults: evs})
	}
	return run
}

func TestRepresentativeTrial(t *testing.T) {
	run := faultRun()
	tr, ok := htmlreport.RepresentativeTrial(run.Trials, "prefork", 1000)
	if !ok || tr.Trial != 2 {
		t.Errorf("representative trial %d (%v), want 2 (6 failed: the median of 2, 6, 9)", tr.Trial, ok)
	}
	run.Trials[2].Cut = true // left out: the median of 2 and 6 is the lower, 2
	if tr, _ := htmlreport.RepresentativeTrial(run.Trials, "prefork", 1000); tr.Trial != 1 {
		t.Errorf("with trial 3 cut: trial %d, want 1", tr.Trial)
	}
	if _, ok := htmlreport.RepresentativeTrial(run.Trials, "other", 1000); ok {
		t.Error("a server without trials has a representative trial")
	}
}

// TestFaultTimelineChart parses report.html of a fault run: the faults
// section comes first, with one chart for the server, showing the
// successful-rate line in the server's colour, a failure bar in the
// kill's bucket only, and a dashed gray line and a label per applied
// fault.
func TestFaultTimelineChart(t *testing.T) {
	run := faultRun()
	p := parsePage(t, render(t, run))
	if i := slices.Index(p.h2, htmlreport.SectionFaults); i < 0 || i > slices.Index(p.h2, htmlreport.SectionThroughput) {
		t.Fatalf("sections %q, want %q before the throughput", p.h2, htmlreport.SectionFaults)
	}
	f := p.figure(t, "Faults over time: prefork at rate 1000/s (trial 2)")
	for _, want := range []string{"prefork ok/s", "failed/s", "kill -9 worker (random)", "SIGHUP", "time from the trial's start (s)", "requests per second"} {
		if !slices.Contains(f.texts, want) {
			t.Errorf("chart has no text %q (texts: %q)", want, f.texts)
		}
	}
	pal := htmlreport.ServerPalette(run)
	if got := count(f.strokes, hex(pal.Colour("prefork"))); got != 2 {
		t.Errorf("%d strokes in the server's colour, want 2 (the ok/s line and its legend swatch)", got)
	}
	// one bar (the kill's bucket) and the legend's swatch
	if got := count(f.fills, "#A01C1C"); got != 2 {
		t.Errorf("%d failure fills, want 2 (the one bucket with failures and the legend's)", got)
	}
	if got := count(f.strokes, "#555555"); got != 2 {
		t.Errorf("%d gray strokes, want 2 (a marker per applied fault)", got)
	}
	if !strings.Contains(f.caption, "Trial 2 of prefork") || !strings.Contains(f.caption, "100ms bucket") {
		t.Errorf("caption does not say which trial and bucket width: %q", f.caption)
	}

	// trial 3's SIGHUP was not applied: only the kill is marked
	run.Trials[1].Faults[0].Failed.Reset = 30 // 2, 30, 9: trial 3 is now the median
	f = parsePage(t, render(t, run)).figure(t, "Faults over time: prefork at rate 1000/s (trial 3)")
	if got := count(f.strokes, "#555555"); got != 1 || slices.Contains(f.texts, "SIGHUP") {
		t.Errorf("%d gray strokes, SIGHUP labelled %v; want 1 marker, no SIGHUP (not applied)", got, slices.Contains(f.texts, "SIGHUP"))
	}
}

// TestNoFaultSection: a run without timelines has no faults section.
func TestNoFaultSection(t *testing.T) {
	run := readFixture(t)
	p := parsePage(t, render(t, run))
	if slices.Contains(p.h2, htmlreport.SectionFaults) {
		t.Errorf("sections %q: a run without faults has a faults section", p.h2)
	}
}

// TestCrashLoopTimelineChart: a crash loop is marked by a dashed gray
// line at each of its kills and labelled once, at its first.
func TestCrashLoopTimelineChart(t *testing.T) {
	run := faultRun()
	for i := range run.Trials {
		ev := &run.Trials[i].Faults[0]
		ev.Name, ev.Kills, ev.KillsAtMs = "crash loop 3× (random)", 3, []float64{1050, 1160, 1370}
	}
	f := parsePage(t, render(t, run)).figure(t, "Faults over time: prefork at rate 1000/s (trial 2)")
	if got := count(f.strokes, "#555555"); got != 4 {
		t.Errorf("%d gray strokes, want 4 (a marker per kill, and the SIGHUP's)", got)
	}
	if got := count(f.texts, "crash loop 3× (random)"); got != 1 {
		t.Errorf("the crash loop labelled %d times, want once (texts: %q)", got, f.texts)
	}
}
