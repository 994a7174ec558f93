package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/faults"
	"github.com/clusterbench/clusterbench/bench/internal/golden"
	"github.com/clusterbench/clusterbench/bench/results"
)

// faultRun is a hand-made fault run: every number is invented by a
// formula, none was measured. Two trials of one server at 1000 req/s for
// 3s; a worker is killed at 1.05s (a dip, resets, a new pid at 1.2s) and
// SIGHUP comes at 2.05s.
func faultRun() *results.Run {
	run := &results.Run{Schema: results.Schema, Scenario: results.ScenarioInfo{Name: "faults"},
		Started: fixtureStart, Finished: fixtureStart, Complete: true, Env: fixtureEnv(),
		Load: results.LoadInfo{Mode: "open", Levels: []int{1000}, DurationS: 3, Trials: 2, KeepAlive: true, Engine: "lean",
			Faults: []results.FaultSpec{{AtMs: 1050, Action: "kill", Pick: "random", Name: "kill -9 worker (random)"},
				{AtMs: 2050, Action: "signal", Signal: "HUP", Name: "SIGHUP"}}},
		Servers: []results.Server{{Name: "prefork", Model: "prefork", Workers: 2}},
	}
	for trial := 1; trial <= 2; trial++ {
		tl := &results.Timeline{BucketMs: 100}
		for i := range 30 {
			b := results.TimelineBucket{StartMs: float64(i * 100), OK: 100, OKPerS: 1000, P50Ms: 0.5, P99Ms: 2, MaxMs: 3, Pids: []int{11, 12}}
			switch {
			case i == 10:
				b.OK, b.OKPerS, b.Reset, b.MaxMs, b.Pids = 60, 600, int64(trial), 40, []int{11}
			case i == 11:
				b.OK, b.OKPerS, b.Refused, b.P99Ms, b.MaxMs, b.Pids = 80, 800, 1, 30, 35, []int{11}
			case i >= 12:
				b.Pids = []int{11, 13}
			}
			tl.Buckets = append(tl.Buckets, b)
		}
		tl.FirstSeen = []results.PidSeen{{Pid: 11}, {Pid: 12}, {Pid: 13, AtMs: 1200 + float64(trial*10)}}
		evs := []results.FaultEvent{
			{Index: 0, Name: "kill -9 worker (random)", PlannedMs: 1050, AtMs: 1050, Applied: true, Pid: 12, WorkersBefore: []int{11, 12}},
			{Index: 1, Name: "SIGHUP", PlannedMs: 2050, AtMs: 2050, Applied: trial == 1, Pid: 10, WorkersBefore: []int{11, 13}},
		}
		if trial == 2 {
			evs[1].Reason = "the server had exited"
		}
		faults.Annotate(evs, tl, 3000)
		run.Trials = append(run.Trials, results.Trial{Server: "prefork", Level: 1000, Trial: trial, DurationS: 3, Timeline: tl, Faults: evs})
	}
	run.Faults = faults.Summarize(run.Trials)
	return run
}

func TestFaultTables(t *testing.T) {
	run := faultRun()
	var b bytes.Buffer
	if err := WriteText(&b, Document{Title: "faults", Tables: faultTables(run)}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "faults.text.golden"), b.Bytes())
	b.Reset()
	if err := TimelineCSV(run)(&b); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "faults.timeline.csv.golden"), b.Bytes())
	if len(faultTables(&results.Run{})) != 0 {
		t.Error("a run without faults has fault tables")
	}
}

func TestWriteRunTimeline(t *testing.T) {
	dir, err := WriteRun(t.TempDir(), faultRun())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, TimelineFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n"); lines != 1+2*30 {
		t.Errorf("timeline.csv has %d lines, want a header and 60 buckets", lines)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil || !strings.Contains(string(md), "faults (median across trials)") {
		t.Errorf("report.md lacks the fault table (%v)", err)
	}
}

// TestFaultTableFirst: the fault table is the first table of a fault
// scenario's report; a run without faults starts with the throughput table.
func TestFaultTableFirst(t *testing.T) {
	d := Build(faultRun())
	if len(d.Tables) < 2 || !strings.Contains(d.Tables[0].Title, "faults (median across trials)") {
		t.Fatalf("first table %q, want the fault table", d.Tables[0].Title)
	}
	if d.Tables[1].Title != summaryTable(faultRun()).Title {
		t.Errorf("second table %q, want the throughput table", d.Tables[1].Title)
	}
	run := faultRun()
	run.Faults = nil
	if d := Build(run); d.Tables[0].Title != summaryTable(run).Title {
		t.Errorf("without faults the first table is %q, want the throughput table", d.Tables[0].Title)
	}
}

// TestFaultTableTooLateWideBuckets: a fault too close to the trial's end
// reads "too late to tell", and the notes give the buckets' real width
// (wider than 100ms for long trials).
func TestFaultTableTooLateWideBuckets(t *testing.T) {
	run := &results.Run{Scenario: results.ScenarioInfo{Name: "late"}, Load: results.LoadInfo{Mode: "open", Levels: []int{1000}, DurationS: 3, Trials: 1}}
	tl := &results.Timeline{BucketMs: 200}
	for i := range 15 {
		tl.Buckets = append(tl.Buckets, results.TimelineBucket{StartMs: float64(i * 200), OK: 200, OKPerS: 1000, MaxMs: 2, Pids: []int{11, 12}})
	}
	evs := []results.FaultEvent{{Index: 0, Name: "kill -9 worker (random)", PlannedMs: 2750, AtMs: 2750, Applied: true, Pid: 12, WorkersBefore: []int{11, 12}}}
	faults.Annotate(evs, tl, 3000)
	run.Trials = []results.Trial{{Server: "pf", Level: 1000, Trial: 1, DurationS: 3, Timeline: tl, Faults: evs}}
	run.Faults = faults.Summarize(run.Trials)
	ts := faultTables(run)
	if len(ts) != 2 {
		t.Fatalf("%d fault tables, want the figures and one around the fault", len(ts))
	}
	if got := ts[0].Rows[0][6]; got != "too late to tell" {
		t.Errorf("recovery %q, want too late to tell", got)
	}
	for _, tb := range ts {
		notes := strings.Join(tb.Notes, "\n")
		if strings.Contains(notes, "100ms") || !strings.Contains(notes, "200ms") {
			t.Errorf("%s: notes name the wrong bucket width:\n%s", tb.Title, notes)
		}
	}
	if !strings.Contains(strings.Join(ts[0].Notes, "\n"), "too late to tell: ") {
		t.Errorf("no note explains too late to tell:\n%s", strings.Join(ts[0].Notes, "\n"))
	}
}

// crashLoopRun is a hand-made run with a crash loop of 3 kills at 1.05s,
// 1.16s and 1.37s; every number is invented. Trial 2's master gives up
// after its second kill.
func crashLoopRun() *results.Run {
	run := &results.Run{Schema: results.Schema, Scenario: results.ScenarioInfo{Name: "crash-loop"},
		Started: fixtureStart, Finished: fixtureStart, Complete: true, Env: fixtureEnv(),
		Load: results.LoadInfo{Mode: "open", Levels: []int{1000}, DurationS: 3, Trials: 2, Engine: "lean",
			Faults: []results.FaultSpec{{AtMs: 1050, Action: "crash_loop", Pick: "random", Times: 3, Name: "crash loop 3× (random)"}}},
		Servers: []results.Server{{Name: "prefork", Model: "prefork", Workers: 2}},
	}
	for trial := 1; trial <= 2; trial++ {
		tl := &results.Timeline{BucketMs: 100}
		for i := range 30 {
			b := results.TimelineBucket{StartMs: float64(i * 100), OK: 100, OKPerS: 1000, P50Ms: 0.5, P99Ms: 2, MaxMs: 3, Pids: []int{11, 12}}
			if i >= 10 && i < 15 {
				b.OK, b.OKPerS, b.Reset, b.MaxMs, b.Pids = 60, 600, int64(trial), 40, []int{11}
			}
			if i >= 15 {
				b.Pids = []int{11, 23}
			}
			tl.Buckets = append(tl.Buckets, b)
		}
		tl.FirstSeen = []results.PidSeen{{Pid: 11}, {Pid: 12}, {Pid: 23, AtMs: 1500}}
		ev := results.FaultEvent{Index: 0, Name: "crash loop 3× (random)", PlannedMs: 1050, AtMs: 1050, Applied: true, Pid: 12, WorkersBefore: []int{11, 12},
			Kills: 3, KillsAtMs: []float64{1050, 1160, 1370}, KilledPids: []int{12, 21, 22}, RestartMs: []float64{2, 105, 210}}
		last := 210.0
		ev.RespawnMs = &last
		if trial == 2 {
			ev.Kills, ev.KillsAtMs, ev.KilledPids, ev.RestartMs, ev.GaveUp = 2, ev.KillsAtMs[:2], ev.KilledPids[:2], ev.RestartMs[:1], true
			ev.RespawnMs = nil
			ev.Reason = "stopped after 2 of 3 kills: no new worker process within 10s of kill 2: the master gave up"
		}
		evs := []results.FaultEvent{ev}
		faults.Annotate(evs, tl, 3000)
		run.Trials = append(run.Trials, results.Trial{Server: "prefork", Level: 1000, Trial: trial, DurationS: 3, Timeline: tl, Faults: evs})
	}
	run.Faults = faults.Summarize(run.Trials)
	return run
}

// TestCrashLoopTables: a crash loop has its own table of kills, restarts
// and gave-up trials after the fault table; its timeline runs from before
// its first kill to after its last, and timeline.csv marks each kill.
func TestCrashLoopTables(t *testing.T) {
	run := crashLoopRun()
	ts := faultTables(run)
	if len(ts) != 3 || !strings.Contains(ts[1].Title, "crash loops") {
		t.Fatalf("%d tables (second %q), want the fault table, the crash loop table and the timeline", len(ts), ts[min(1, len(ts)-1)].Title)
	}
	var b bytes.Buffer
	if err := WriteText(&b, Document{Title: "crash loop", Tables: ts}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "crashloop.text.golden"), b.Bytes())
	csv := TimelineTable(run)
	var marked []string
	for _, r := range csv.Rows {
		if f := r[len(r)-1]; f != "" && r[2] == "1" {
			marked = append(marked, r[3]+": "+f)
		}
	}
	want := "1000.0000: crash loop 3× (random) kill 1|1100.0000: crash loop 3× (random) kill 2|1300.0000: crash loop 3× (random) kill 3"
	if got := strings.Join(marked, "|"); got != want {
		t.Errorf("timeline.csv marks trial 1 as\n%s\nwant\n%s", got, want)
	}
	if _, ok := crashLoopTable(faultRun()); ok {
		t.Error("a run without crash loops has a crash loop table")
	}
}
