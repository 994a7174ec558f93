package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/bench/results"
)

// The CSV files hold one kind of row each, so that a spreadsheet or
// pandas.read_csv loads them as they are:
//
//	summary.csv  one row per server × level: each figure's median across trials and its spread
//	trials.csv   one row per measured trial
//	workers.csv  one row per server × level × worker, the tallies of all trials merged
//
// Numbers are plain decimals (never exponent form) with a precision per
// unit, named by the column's suffix: _rps 1 decimal; _ms 4 (a tenth of a
// microsecond: the latency histograms hold three significant digits from
// 1 µs up); _us 2; _s 3; ratios (success_ratio, share, *_util, jain,
// max_over_mean, ci_confidence) 4. Booleans are true/false; an empty cell is
// a figure that does not apply (target_rps of a closed loop). Columns are
// stable: new ones are only ever appended.

// Precision, in decimals, of each unit in the CSV files.
const (
	precRate  = 1
	precMs    = 4
	precUs    = 2
	precS     = 3
	precRatio = 4
)

func csvRate(v float64) string  { return decimal(v, precRate) }
func csvMs(v float64) string    { return decimal(v, precMs) }
func csvUs(v float64) string    { return decimal(v, precUs) }
func csvS(v float64) string     { return decimal(v, precS) }
func csvRatio(v float64) string { return decimal(v, precRatio) }

// decimal writes v with prec decimals and no exponent; "" for a value that
// is not a number (NaN, ±Inf: JSON refuses those too).
func decimal(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Trim(s, "-0.") == "" {
		return strconv.FormatFloat(0, 'f', prec, 64) // no "-0.000"
	}
	return s
}

// estimateFigures are the figures of a Summary that summary.csv writes as
// five columns each: NAME (median), NAME_lo and NAME_hi (the 95% interval
// of the median; equal to the median with fewer than 6 trials), NAME_min and
// NAME_max (the smallest and largest trial value).
var estimateFigures = []struct {
	name string
	get  func(*results.Summary) results.Estimate
	fmt  func(float64) string
}{
	{"success_ratio", func(s *results.Summary) results.Estimate { return s.SuccessRatio }, csvRatio},
	{"throughput_rps", func(s *results.Summary) results.Estimate { return s.Throughput }, csvRate},
	{"achieved_rps", func(s *results.Summary) results.Estimate { return s.AchievedRate }, csvRate},
	{"p50_ms", func(s *results.Summary) results.Estimate { return s.P50Ms }, csvMs},
	{"p90_ms", func(s *results.Summary) results.Estimate { return s.P90Ms }, csvMs},
	{"p99_ms", func(s *results.Summary) results.Estimate { return s.P99Ms }, csvMs},
	{"p999_ms", func(s *results.Summary) results.Estimate { return s.P999Ms }, csvMs},
	{"max_ms", func(s *results.Summary) results.Estimate { return s.MaxMs }, csvMs},
	{"server_cpu_per_req_us", func(s *results.Summary) results.Estimate { return s.ServerCPUPerReqUs }, csvUs},
	{"client_cpu_util", func(s *results.Summary) results.Estimate { return s.ClientCPUUtil }, csvRatio},
}

// SummaryColumns are the columns of summary.csv, in order:
//
//	scenario, server, mode, level  what was measured; level = concurrency (closed) or asked rate/s (open)
//	trials                         trials the figures aggregate (cut trials left out when others exist)
//	cut_trials, only_cut           trials cut short by an interruption; only_cut: every trial was, and the figures are theirs
//	ci_confidence                  true coverage of the [_lo, _hi] intervals (≥ 0.95); 0 = fewer than 6 trials, no interval
//	target_rps                     open loop: the asked rate (empty for a closed loop)
//	FIGURE, _lo, _hi, _min, _max   for each of success_ratio, throughput_rps, achieved_rps, p50_ms, p90_ms,
//	                               p99_ms, p999_ms, max_ms, server_cpu_per_req_us (0: not measured), client_cpu_util
//	client_bound, rate_shortfall   true in any trial
//	workers_seen, max_over_mean, jain  fairness over all trials' merged tallies
var SummaryColumns = summaryColumns()

func summaryColumns() []string {
	cols := []string{"scenario", "server", "mode", "level", "trials", "cut_trials", "only_cut", "ci_confidence", "target_rps"}
	for _, f := range estimateFigures {
		cols = append(cols, f.name, f.name+"_lo", f.name+"_hi", f.name+"_min", f.name+"_max")
	}
	return append(cols, "client_bound", "rate_shortfall", "workers_seen", "max_over_mean", "jain")
}

// SummaryTable is summary.csv as a Table: one row per server × level, in
// the run's order.
func SummaryTable(run *results.Run) Table {
	t := Table{Title: SummaryFile, Header: SummaryColumns}
	for i := range run.Summary {
		s := &run.Summary[i]
		target := ""
		if run.Load.Mode == "open" {
			target = csvRate(float64(s.Level))
		}
		row := []string{
			run.Scenario.Name, s.Server, run.Load.Mode, strconv.Itoa(s.Level), strconv.Itoa(s.Trials),
			strconv.Itoa(s.CutTrials), strconv.FormatBool(s.OnlyCut), csvRatio(s.Throughput.Confidence), target,
		}
		for _, f := range estimateFigures {
			e := f.get(s)
			row = append(row, f.fmt(e.Median), f.fmt(e.Lo), f.fmt(e.Hi), f.fmt(e.Min), f.fmt(e.Max))
		}
		t.Rows = append(t.Rows, append(row,
			strconv.FormatBool(s.ClientBound), strconv.FormatBool(s.RateShortfall),
			strconv.Itoa(s.Fairness.Workers), csvRatio(s.Fairness.MaxOverMean), csvRatio(s.Fairness.Jain)))
	}
	return t
}

// TrialsFile is the CSV of a run's trials.
const TrialsFile = "trials.csv"

// TrialColumns are the columns of trials.csv, one row per trial in run
// order (stable, append only). cut: an interruption cut the trial short
// (summaries leave it out when others exist). status_codes and errors are
// counts by status code ("0" = no response) and by failure kind, as
// "key=n" joined by "; " (200=95; 404=5). client_wait_s: time the load
// generator's threads waited for a CPU.
var TrialColumns = []string{
	"scenario", "server", "mode", "level", "trial", "cut", "duration_s", "requests", "successes", "success_ratio",
	"throughput_rps", "achieved_rps", "target_rps", "rate_shortfall", "dropped",
	"mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms",
	"server_cpu_s", "server_cpu_per_req_us", "client_cpu_s", "client_cpu_util", "client_wait_s", "client_bound",
	"workers_seen", "max_over_mean", "jain", "status_codes", "errors",
}

// TrialsTable is trials.csv as a Table.
func TrialsTable(run *results.Run) Table {
	t := Table{Title: TrialsFile, Header: TrialColumns}
	for _, tr := range run.Trials {
		target := ""
		if run.Load.Mode == "open" {
			target = csvRate(tr.TargetRate)
		}
		l := tr.Latency
		t.Rows = append(t.Rows, []string{
			run.Scenario.Name, tr.Server, run.Load.Mode, strconv.Itoa(tr.Level), strconv.Itoa(tr.Trial), strconv.FormatBool(tr.Cut),
			csvS(tr.DurationS), strconv.FormatInt(tr.Requests, 10), strconv.FormatInt(tr.Successes, 10), csvRatio(tr.SuccessRatio),
			csvRate(tr.Throughput), csvRate(tr.AchievedRate), target, strconv.FormatBool(tr.RateShortfall), strconv.FormatInt(tr.Dropped, 10),
			csvMs(l.MeanMs), csvMs(l.P50Ms), csvMs(l.P90Ms), csvMs(l.P99Ms), csvMs(l.P999Ms), csvMs(l.MaxMs),
			csvS(tr.ServerCPUS), csvUs(tr.ServerCPUPerReqUs), csvS(tr.ClientCPUS), csvRatio(tr.ClientCPUUtil), csvS(tr.ClientWaitS),
			strconv.FormatBool(tr.ClientBound),
			strconv.Itoa(tr.Fairness.Workers), csvRatio(tr.Fairness.MaxOverMean), csvRatio(tr.Fairness.Jain),
			countList(tr.StatusCodes), countList(tr.Errors),
		})
	}
	return t
}

// countList writes counts as "key=n" joined by "; ", keys sorted
// ("200=95; 404=5"); "" for none.
func countList(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatInt(m[k], 10)
	}
	return strings.Join(parts, "; ")
}

// WorkerColumns are the columns of workers.csv, one row per server ×
// level × worker with the tallies of the level's trials merged, as the
// per-worker tables show them (stable, append only). pids are
// space-separated (more than one: the worker was restarted); share is the
// worker's part of the level's responses. One trial's tallies are in
// summary.json (trials[].workers), its fairness in trials.csv.
var WorkerColumns = []string{
	"scenario", "server", "mode", "level", "trials", "worker", "pids",
	"requests", "connections", "share", "p50_ms", "p99_ms", "errors",
}

// WorkersTable is workers.csv as a Table.
func WorkersTable(run *results.Run) Table {
	t := Table{Title: WorkersFile, Header: WorkerColumns}
	for _, s := range run.Summary {
		for _, w := range s.Workers {
			t.Rows = append(t.Rows, []string{
				run.Scenario.Name, s.Server, run.Load.Mode, strconv.Itoa(s.Level), strconv.Itoa(s.Trials), w.ID, joinPids(w.Pids, " "),
				strconv.FormatInt(w.Requests, 10), strconv.FormatInt(w.Connections, 10), csvRatio(w.Share),
				csvMs(w.P50Ms), csvMs(w.P99Ms), strconv.FormatInt(w.Errors, 10),
			})
		}
	}
	return t
}

// WriteCSV renders t as CSV (RFC 4180): the header, then the rows.
func WriteCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Header); err != nil {
		return fmt.Errorf("report: %s: %w", t.Title, err)
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return fmt.Errorf("report: %s: %w", t.Title, err)
	}
	return nil
}

// TrialsCSV renders trials.csv.
func TrialsCSV(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteCSV(w, TrialsTable(run)) }
}

// SummaryCSV renders summary.csv.
func SummaryCSV(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteCSV(w, SummaryTable(run)) }
}

// WorkersCSV renders workers.csv.
func WorkersCSV(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteCSV(w, WorkersTable(run)) }
}
