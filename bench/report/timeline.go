package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/bench/faults"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// TimelineFile is the per-trial timeline of a fault scenario's run.
const TimelineFile = "timeline.csv"

// TimelineColumns are the columns of timeline.csv: a row per bucket of
// each trial's timeline (results.Timeline), by completion time from the
// trial's start. Numbers are written as in the other CSV files (ms with 4
// decimals, rates with 1). New columns are only ever appended.
//
//	server, level, trial        which trial
//	start_ms, bucket_ms         the bucket: [start_ms, start_ms+bucket_ms)
//	ok, ok_per_s                successful responses in it, and per second
//	refused ... other           failed requests by kind
//	p50_ms, p99_ms, max_ms      latency of the successful ones (log-scale bins, upper edge)
//	pids, more_pids             worker pids that answered (space-separated), and whether more did
//	faults                      the faults applied in the bucket, "; "-joined
var TimelineColumns = []string{
	"server", "level", "trial", "start_ms", "bucket_ms", "ok", "ok_per_s",
	"refused", "reset", "closed", "timeout", "status_5xx", "other",
	"p50_ms", "p99_ms", "max_ms", "pids", "more_pids", "faults",
}

// HasTimeline reports whether any trial of run recorded a timeline.
func HasTimeline(run *results.Run) bool {
	for _, t := range run.Trials {
		if t.Timeline != nil {
			return true
		}
	}
	return false
}

// TimelineTable is timeline.csv as a Table of raw numbers.
func TimelineTable(run *results.Run) Table {
	t := Table{Title: TimelineFile, Header: TimelineColumns}
	for _, tr := range run.Trials {
		tl := tr.Timeline
		if tl == nil {
			continue
		}
		for i, b := range tl.Buckets {
			var applied []string
			for _, ev := range tr.Faults {
				switch {
				case !ev.Applied:
				case len(ev.KillsAtMs) > 0: // a crash loop: each kill
					for k, at := range ev.KillsAtMs {
						if bucketOf(at, tl.BucketMs) == i {
							applied = append(applied, fmt.Sprintf("%s kill %d", ev.Name, k+1))
						}
					}
				case bucketOf(ev.AtMs, tl.BucketMs) == i:
					applied = append(applied, ev.Name)
				}
			}
			t.Rows = append(t.Rows, []string{
				tr.Server, strconv.Itoa(tr.Level), strconv.Itoa(tr.Trial), csvMs(b.StartMs), csvMs(tl.BucketMs),
				strconv.FormatInt(b.OK, 10), csvRate(b.OKPerS),
				strconv.FormatInt(b.Refused, 10), strconv.FormatInt(b.Reset, 10), strconv.FormatInt(b.Closed, 10),
				strconv.FormatInt(b.Timeout, 10), strconv.FormatInt(b.Status5xx, 10), strconv.FormatInt(b.Other, 10),
				csvMs(b.P50Ms), csvMs(b.P99Ms), csvMs(b.MaxMs), joinPids(b.Pids, " "), strconv.FormatBool(b.MorePids),
				strings.Join(applied, "; "),
			})
		}
	}
	return t
}

// TimelineCSV writes timeline.csv.
func TimelineCSV(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteCSV(w, TimelineTable(run)) }
}

func bucketOf(ms, width float64) int {
	if width <= 0 {
		return 0
	}
	return int(ms / width)
}

// Buckets shown around a fault in the terminal.
const (
	aroundBefore = 2
	aroundAfter  = 6
)

// faultTables are a fault scenario's tables: the figures of each fault
// (median across trials) and, per server, level and fault, the timeline
// of its first measured trial around the fault.
func faultTables(run *results.Run) []Table {
	if len(run.Faults) == 0 {
		return nil
	}
	ts := []Table{faultTable(run)}
	if t, ok := crashLoopTable(run); ok {
		ts = append(ts, t)
	}
	for _, s := range run.Faults {
		if t, ok := aroundTable(run, s); ok {
			ts = append(ts, t)
		}
	}
	return ts
}

func faultTable(run *results.Run) Table {
	t := Table{
		Title: fmt.Sprintf("%s: faults (median across trials)", run.Scenario.Name),
		Header: []string{"server", levelHeader(run.Load.Mode), "fault", "at", "failed", "how",
			"recovery", "worst", "respawn", "new worker", "exit"},
		Align:  []Align{Left, Right, Left, Right, Right, Left, Right, Right, Right, Right, Right},
		Legend: levelLegend(run.Load.Mode),
	}
	var notes []string
	drained, late := false, false
	width := bucketWidth(run)
	for _, s := range run.Faults {
		drained = drained || s.ExitMs.N > 0
		failed := "-"
		if s.Failed.N > 0 {
			failed = fmtCount(s.Failed.Median)
			if s.Failed.Max > s.Failed.Min {
				failed += fmt.Sprintf(" [%s..%s]", fmtCount(s.Failed.Min), fmtCount(s.Failed.Max))
			}
		}
		var how []string
		for _, k := range []struct {
			e    results.Estimate
			name string
		}{{s.Refused, "refused"}, {s.Reset, "reset"}, {s.Closed, "closed"}, {s.Timeout, "timeout"}, {s.Status5xx, "5xx"}, {s.Other, "other"}} {
			if k.e.Median > 0 {
				how = append(how, fmtCount(k.e.Median)+" "+k.name)
			}
		}
		recovery := msEstimate(s.RecoveryMs, s.NotRecovered)
		if s.ExitMs.N > 0 && s.RecoveryMs.N == 0 && s.NotRecovered == 0 {
			recovery = "-" // the server exited: nothing to recover
		}
		if s.TooLate > 0 {
			late = true
			if s.RecoveryMs.N == 0 && s.NotRecovered == 0 {
				recovery = "too late to tell"
			} else {
				recovery += fmt.Sprintf(" (%d too late)", s.TooLate)
			}
		}
		t.Rows = append(t.Rows, []string{
			s.Server, strconv.Itoa(s.Level), s.Name, results.MsText(s.AtMs), failed, strings.Join(how, ", "),
			recovery, msEstimate(s.WorstMs, 0), msEstimate(s.RespawnMs, 0), msEstimate(s.ReplacementMs, 0), msEstimate(s.ExitMs, 0),
		})
		if s.NotApplied > 0 {
			notes = append(notes, fmt.Sprintf("%s at %s: %s not applied in %d of %d trials (the reasons are in summary.json)",
				s.Server, results.LevelName(run.Load.Mode, s.Level), s.Name, s.NotApplied, s.Trials))
		}
	}
	t.Notes = append(notes,
		"failed: requests that failed from the fault until the next one (or the trial's end), [min..max] across trials;",
		"  how: the median of each kind of failure (kinds with a median of 0 left out).",
		fmt.Sprintf("recovery: from the fault until successful req/s was back to %.0f%% of its median before the fault for %d buckets",
			100*faults.RecoveryShare, faults.RecoveryHold),
		"  of "+width+" (n none: trials where it was not); worst: the highest latency completed meanwhile, in ms.",
		"respawn: until a new worker process appeared; new worker: until a worker pid new since the fault answered;",
		"  exit: until the server exited. Times in ms: median, then ±x% (the 95% interval, 6 or more trials) or [min..max].",
		"timeline.csv has every trial in "+width+" buckets.")
	if late {
		t.Notes = append(t.Notes, fmt.Sprintf("too late to tell: the trial ended before %d buckets after the fault could show a recovery", faults.RecoveryHold),
			"  (counted neither as recovered nor as not).")
	}
	if drained {
		t.Notes = append(t.Notes, "a server that exited: refused counts the connections refused once it closed its listener,",
			"  up to the trial's end (a few ms after its exit).")
	}
	return t
}

// crashLoopTable is the figures of the run's crash loops (median across
// trials): kills, the restart delays of the first, the last and the
// slowest kill, and the trials where the master gave up; false when the
// run has none.
func crashLoopTable(run *results.Run) (Table, bool) {
	t := Table{
		Title:  fmt.Sprintf("%s: crash loops (median across trials)", run.Scenario.Name),
		Header: []string{"server", levelHeader(run.Load.Mode), "fault", "kills", "first restart", "last restart", "slowest restart", "gave up"},
		Align:  []Align{Left, Right, Left, Right, Right, Right, Right, Right},
	}
	for _, s := range run.Faults {
		if s.Kills.N == 0 {
			continue
		}
		kills := fmtCount(s.Kills.Median)
		if s.Kills.Max > s.Kills.Min {
			kills += fmt.Sprintf(" [%s..%s]", fmtCount(s.Kills.Min), fmtCount(s.Kills.Max))
		}
		gave := "no"
		if s.GaveUp > 0 {
			gave = fmt.Sprintf("%d of %d trials", s.GaveUp, s.Trials-s.NotApplied)
		}
		t.Rows = append(t.Rows, []string{s.Server, strconv.Itoa(s.Level), s.Name, kills,
			msEstimate(s.FirstRestartMs, 0), msEstimate(s.LastRestartMs, 0), msEstimate(s.MaxRestartMs, 0), gave})
	}
	if len(t.Rows) == 0 {
		return Table{}, false
	}
	t.Notes = []string{
		"kills: SIGKILLs sent, [min..max] across trials; a restart: from a kill until a new worker process appeared",
		"  (first: after the first kill; last: after the last kill followed by one; slowest: the longest of the trial).",
		fmt.Sprintf("gave up: trials where the master started no new worker within %s of a kill, or exited instead;", results.MsText(float64(faults.CrashLoopWait)/1e6)),
		"  the loop stopped there (the reasons are in summary.json).",
		"In the fault table a crash loop's recovery, respawn, new worker and exit count from its last kill.",
	}
	return t, true
}

// bucketWidth names the width of the run's timeline buckets ("100ms"),
// or the widths, "/"-joined, when trials differ (EnableTimeline widens
// them for long trials).
func bucketWidth(run *results.Run) string {
	var ws []string
	for _, tr := range run.Trials {
		if tr.Timeline != nil {
			if w := results.MsText(tr.Timeline.BucketMs); !slices.Contains(ws, w) {
				ws = append(ws, w)
			}
		}
	}
	if len(ws) == 0 {
		return results.MsText(float64(metrics.TimelineBucket) / 1e6)
	}
	return strings.Join(ws, "/")
}

// msEstimate is a median in ms with its confidence interval as ±x%
// (6 or more trials) or else its range, "-" when no trial had one;
// missing counts the trials without. A range reads better than a
// percentage for these heavy-tailed times.
func msEstimate(e results.Estimate, missing int) string {
	v := "-"
	switch {
	case e.N == 0:
	case e.Confidence > 0:
		v = fmtMs(e.Median) + spread(e)
	case e.N > 1 && e.Max > e.Min:
		v = fmt.Sprintf("%s [%s..%s]", fmtMs(e.Median), fmtMs(e.Min), fmtMs(e.Max))
	default:
		v = fmtMs(e.Median)
	}
	if missing > 0 {
		v += fmt.Sprintf(" (%d none)", missing)
	}
	return v
}

// fmtCount prints a count, or a median of counts (which may end in .5).
func fmtCount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// aroundTable is the timeline of the first measured trial of s's server
// and level around fault s: a few buckets before and after its bucket
// (a crash loop: before its first kill's, after its last kill's).
func aroundTable(run *results.Run, s results.FaultSummary) (Table, bool) {
	trials := metrics.RowTrials(run.Trials, s.Server, s.Level)
	for _, tr := range trials {
		var ev *results.FaultEvent
		for i := range tr.Faults {
			if tr.Faults[i].Index == s.Index && tr.Faults[i].Applied {
				ev = &tr.Faults[i]
			}
		}
		if ev == nil || tr.Timeline == nil || len(tr.Timeline.Buckets) == 0 {
			continue
		}
		tl := tr.Timeline
		fb := bucketOf(ev.AtMs, tl.BucketMs)
		lb := fb // a crash loop: up to its last kill
		if n := len(ev.KillsAtMs); n > 0 {
			lb = max(fb, bucketOf(ev.KillsAtMs[n-1], tl.BucketMs))
		}
		t := Table{
			Title: fmt.Sprintf("%s at %s, trial %d: %s at %s (pid %d)", s.Server, results.LevelName(run.Load.Mode, s.Level), tr.Trial,
				ev.Name, results.MsText(ev.AtMs), ev.Pid),
			Header: []string{"ms", "ok/s", "failed", "p50", "p99", "pids"},
			Align:  []Align{Right, Right, Left, Right, Right, Left},
		}
		for k := max(fb-aroundBefore, 0); k <= min(lb+aroundAfter, len(tl.Buckets)-1); k++ {
			b := tl.Buckets[k]
			rel := b.StartMs - ev.AtMs
			t.Rows = append(t.Rows, []string{
				strconv.FormatFloat(math.Round(rel), 'f', 0, 64), fmtFigure(b.OKPerS), failedText(b),
				fmtMs(b.P50Ms), fmtMs(b.P99Ms), pidsText(b, ev.WorkersBefore),
			})
		}
		t.Notes = []string{"ms: start of each " + results.MsText(tl.BucketMs) + " bucket relative to the fault; pids: workers that answered, * = not there before the fault."}
		return t, true
	}
	return Table{}, false
}

func failedText(b results.TimelineBucket) string {
	kinds := b.Failures().Kinds()
	if len(kinds) == 0 {
		return "0"
	}
	return strings.Join(kinds, ", ")
}

func pidsText(b results.TimelineBucket, before []int) string {
	parts := make([]string, len(b.Pids))
	for i, p := range b.Pids {
		parts[i] = strconv.Itoa(p)
		if len(before) > 0 && !slices.Contains(before, p) {
			parts[i] += "*"
		}
	}
	s := strings.Join(parts, " ")
	if b.MorePids {
		s += " +more"
	}
	return s
}
