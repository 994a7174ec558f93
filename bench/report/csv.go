package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/bench/results"
)

// SummaryColumns are the columns of summary.csv, in order. They are
// stable: new columns are only ever appended. Units are in the names (_s
// seconds, _ms milliseconds, _us microseconds, _rps per second).
//
//	scenario, server, mode, level   what was measured; level = concurrency (closed) or asked rate/s (open)
//	row                              trial | median | ci_lo | ci_hi | min | max
//	trial                            1-based trial number (trial rows; empty otherwise)
//	n                                trials aggregated (aggregate rows; 1 on trial rows)
//	ci_confidence                    true coverage of [ci_lo, ci_hi] (aggregate rows; 0 = fewer than 6 trials, no interval, ci_lo = ci_hi = median)
//	duration_s, requests, successes  trial rows only
//	target_rps                       open loop only (the asked rate)
//	success_ratio ... client_cpu_util  the metrics (every row)
//	mean_ms                          trial rows only
//	client_bound, rate_shortfall     true/false (aggregate rows: in any trial)
//	workers_seen, max_over_mean, jain  fairness (aggregate rows: over all trials' tallies)
//	cut                              trial rows: true when an interruption cut the trial short;
//	                                 aggregate rows: how many cut trials were left out (or, if all were cut, used)
//	status_codes, errors             trial rows: counts by status code ("0" = no response) and by
//	                                 failure kind, as "key=n" joined by "; " (200=95; 404=5)
var SummaryColumns = []string{
	"scenario", "server", "mode", "level", "row", "trial", "n", "ci_confidence",
	"duration_s", "requests", "successes", "success_ratio",
	"throughput_rps", "achieved_rps", "target_rps",
	"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms",
	"server_cpu_per_req_us", "client_cpu_util",
	"client_bound", "rate_shortfall", "workers_seen", "max_over_mean", "jain",
	"cut", "status_codes", "errors",
}

// WorkerColumns are the columns of workers.csv, in order (stable, append
// only). row is "trial" for one trial's tally or "all" for the merge of a
// server × level's trials; pids are space-separated.
var WorkerColumns = []string{
	"scenario", "server", "level", "row", "trial", "worker", "pids",
	"requests", "connections", "share", "p50_ms", "p99_ms", "errors",
}

// SummaryTable is summary.csv as a Table of raw numbers: for every server ×
// level, one row per trial, then its median, ci_lo, ci_hi, min and max rows.
func SummaryTable(run *results.Run) Table {
	t := Table{Title: "summary.csv", Header: SummaryColumns}
	trials := map[[2]string][]results.Trial{}
	for _, tr := range run.Trials {
		k := [2]string{tr.Server, strconv.Itoa(tr.Level)}
		trials[k] = append(trials[k], tr)
	}
	done := map[[2]string]bool{}
	emit := func(server string, level int, s *results.Summary) {
		k := [2]string{server, strconv.Itoa(level)}
		if done[k] {
			return
		}
		done[k] = true
		for _, tr := range trials[k] {
			t.Rows = append(t.Rows, trialRow(run, tr))
		}
		if s != nil {
			t.Rows = append(t.Rows, aggregateRows(run, s)...)
		}
	}
	for i := range run.Summary {
		emit(run.Summary[i].Server, run.Summary[i].Level, &run.Summary[i])
	}
	for _, tr := range run.Trials { // trials with no summary row
		emit(tr.Server, tr.Level, nil)
	}
	return t
}

func trialRow(run *results.Run, tr results.Trial) []string {
	target := ""
	if run.Load.Mode == "open" {
		target = num(tr.TargetRate)
	}
	return []string{
		run.Scenario.Name, tr.Server, run.Load.Mode, strconv.Itoa(tr.Level), "trial", strconv.Itoa(tr.Trial), "1", "",
		num(tr.DurationS), strconv.FormatInt(tr.Requests, 10), strconv.FormatInt(tr.Successes, 10), num(tr.SuccessRatio),
		num(tr.Throughput), num(tr.AchievedRate), target,
		num(tr.Latency.P50Ms), num(tr.Latency.P90Ms), num(tr.Latency.P99Ms), num(tr.Latency.P999Ms), num(tr.Latency.MaxMs), num(tr.Latency.MeanMs),
		num(tr.ServerCPUPerReqUs), num(tr.ClientCPUUtil),
		strconv.FormatBool(tr.ClientBound), strconv.FormatBool(tr.RateShortfall),
		strconv.Itoa(tr.Fairness.Workers), num(tr.Fairness.MaxOverMean), num(tr.Fairness.Jain),
		strconv.FormatBool(tr.Cut), countList(tr.StatusCodes), countList(tr.Errors),
	}
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

func aggregateRows(run *results.Run, s *results.Summary) [][]string {
	target := ""
	if run.Load.Mode == "open" {
		target = strconv.Itoa(s.Level)
	}
	var rows [][]string
	for _, kind := range []string{"median", "ci_lo", "ci_hi", "min", "max"} {
		pick := func(e results.Estimate) string {
			switch kind {
			case "ci_lo":
				return num(e.Lo)
			case "ci_hi":
				return num(e.Hi)
			case "min":
				return num(e.Min)
			case "max":
				return num(e.Max)
			}
			return num(e.Median)
		}
		rows = append(rows, []string{
			run.Scenario.Name, s.Server, run.Load.Mode, strconv.Itoa(s.Level), kind, "", strconv.Itoa(s.Throughput.N), num(s.Throughput.Confidence),
			"", "", "", pick(s.SuccessRatio),
			pick(s.Throughput), pick(s.AchievedRate), target,
			pick(s.P50Ms), pick(s.P90Ms), pick(s.P99Ms), pick(s.P999Ms), pick(s.MaxMs), "",
			pick(s.ServerCPUPerReqUs), pick(s.ClientCPUUtil),
			strconv.FormatBool(s.ClientBound), strconv.FormatBool(s.RateShortfall),
			strconv.Itoa(s.Fairness.Workers), num(s.Fairness.MaxOverMean), num(s.Fairness.Jain),
			strconv.Itoa(s.CutTrials), "", "",
		})
	}
	return rows
}

// WorkersTable is workers.csv as a Table: each trial's per-worker tally
// ("trial" rows), then the merged tally of each server × level ("all").
func WorkersTable(run *results.Run) Table {
	t := Table{Title: "workers.csv", Header: WorkerColumns}
	row := func(server string, level int, kind, trial string, w results.Worker) []string {
		pids := make([]string, len(w.Pids))
		for i, p := range w.Pids {
			pids[i] = strconv.Itoa(p)
		}
		return []string{
			run.Scenario.Name, server, strconv.Itoa(level), kind, trial, w.ID, strings.Join(pids, " "),
			strconv.FormatInt(w.Requests, 10), strconv.FormatInt(w.Connections, 10), num(w.Share),
			num(w.P50Ms), num(w.P99Ms), strconv.FormatInt(w.Errors, 10),
		}
	}
	for _, tr := range run.Trials {
		for _, w := range tr.Workers {
			t.Rows = append(t.Rows, row(tr.Server, tr.Level, "trial", strconv.Itoa(tr.Trial), w))
		}
	}
	for _, s := range run.Summary {
		for _, w := range s.Workers {
			t.Rows = append(t.Rows, row(s.Server, s.Level, "all", "", w))
		}
	}
	return t
}

// num prints a float exactly enough to read it back (shortest form).
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

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

// SummaryCSV renders summary.csv.
func SummaryCSV(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteCSV(w, SummaryTable(run)) }
}

// WorkersCSV renders workers.csv.
func WorkersCSV(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteCSV(w, WorkersTable(run)) }
}
