package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Build turns a run into the Document every human-readable format renders:
// the verdict (VerdictOf), a header of warnings and metadata, for a fault
// scenario the fault table first (and its timelines after the status
// table), one throughput/latency table for the
// scenario (rows: server × level) and one per-worker distribution table
// per server (rows: level × worker, fairness in the notes); for a merged
// run (clusterbench merge), one table of the shards' load generators
// (rows: shard × trial).
func Build(run *results.Run) Document {
	d := Document{Title: "clusterbench run: " + run.Scenario.Name, Meta: meta(run)}
	v := VerdictOf(run)
	d.Verdict, d.VerdictLegend = v.Lines(), v.Legend()
	d.Warnings = append(d.Warnings, run.Warnings...)
	if !run.Complete {
		why := run.Incomplete
		if why == "" {
			why = "no reason recorded"
		}
		d.Warnings = append([]string{"INCOMPLETE run: " + why}, d.Warnings...)
	}
	// A fault scenario is about its faults: their table comes first (its
	// rows are server × level × fault, so it cannot be columns of the
	// throughput table, whose rows are server × level).
	fts := faultTables(run)
	if len(fts) > 0 {
		d.Tables = append(d.Tables, fts[0])
	}
	d.Tables = append(d.Tables, summaryTable(run))
	if t, ok := statusTable(run); ok {
		d.Tables = append(d.Tables, t)
	}
	if len(fts) > 1 {
		d.Tables = append(d.Tables, fts[1:]...)
	}
	d.Tables = append(d.Tables, workerTables(run)...)
	if t, ok := generatorTable(run); ok {
		d.Tables = append(d.Tables, t)
	}
	d.Tables = append(d.Tables, calcTables(run)...)
	return d
}

// generatorTable is a merged run's per-shard generator figures (clusterbench
// merge), one row per shard × trial: the shard's share of the level, its
// requests, its generator's CPU time and use of its CPUs, and whether it
// was the bottleneck. ok is false for a run that lists no shards: a run
// that is not a merge, or one shard's own run.
func generatorTable(run *results.Run) (t Table, ok bool) {
	if run.Shard == nil || len(run.Shard.Shards) == 0 {
		return t, false
	}
	t = Table{
		Title:  fmt.Sprintf("%s: load generators of the %d shards of run %s", run.Scenario.Name, run.Shard.Count, run.Shard.RunID),
		Header: []string{"shard", "host", "server", "level", "trial", "share", "requests", "gen cpu s", "gen cpu", "bound"},
		Align:  []Align{Right, Left, Left, Right, Right, Right, Right, Right, Right, Left},
		Notes: []string{"share: the shard's part of the level; gen cpu s: the generator's CPU time in the trial; gen cpu: of the CPUs it could use;",
			fmt.Sprintf("bound: the generator may have been the bottleneck (its CPU time and its wait for a CPU reached %.0f%% of its CPUs)", 100*metrics.ClientBoundUtil)},
	}
	for _, s := range run.Shard.Shards {
		for _, tr := range s.Trials {
			bound := ""
			if tr.ClientBound {
				bound = "yes"
			}
			t.Rows = append(t.Rows, []string{strconv.Itoa(s.Index), s.Hostname, tr.Server, strconv.Itoa(tr.Level), strconv.Itoa(tr.Trial),
				strconv.Itoa(tr.ShardLevel), strconv.FormatInt(tr.Requests, 10), strconv.FormatFloat(tr.ClientCPUS, 'f', 2, 64),
				strconv.FormatFloat(100*tr.ClientCPUUtil, 'f', 0, 64) + "%", bound})
		}
	}
	return t, true
}

func meta(run *results.Run) [][2]string {
	e := run.Env
	m := [][2]string{{"scenario", run.Scenario.Name}}
	if run.Scenario.Description != "" {
		m = append(m, [2]string{"description", run.Scenario.Description})
	}
	if run.Scenario.File != "" {
		m = append(m, [2]string{"file", run.Scenario.File})
	}
	when := run.Started.UTC().Format(time.RFC3339)
	if !run.Finished.IsZero() && !run.Started.IsZero() {
		when += fmt.Sprintf(" (%s)", run.Finished.Sub(run.Started).Round(time.Second))
	}
	m = append(m, [2]string{"started", when})
	m = append(m, [2]string{"load", loadLine(run.Load)})
	m = append(m, [2]string{"requests", orDash(requestsLine(run.Load.Requests))})
	machine := fmt.Sprintf("%d CPUs", e.CPUs)
	if e.CPUModel != "" {
		machine += ", " + e.CPUModel
	}
	if e.Kernel != "" {
		machine += ", " + e.OS + " " + e.Kernel
	}
	m = append(m, [2]string{"machine", machine})
	m = append(m, [2]string{"go", fmt.Sprintf("%s, GOMAXPROCS %d (load generator)", orDash(e.GoVersion), e.GOMAXPROCS)})
	pin := e.Pinning // the runner's own words, when it wrote any
	if pin == "" && (e.ServerCPUs != "" || e.ClientCPUs != "") {
		pin = fmt.Sprintf("servers on CPUs %s, load generator on CPUs %s", orDash(e.ServerCPUs), orDash(e.ClientCPUs))
	}
	m = append(m, [2]string{"pinning", orDash(pin)})
	if e.GitCommit != "" {
		c := e.GitCommit
		if e.GitDirty {
			c += " (dirty)"
		}
		m = append(m, [2]string{"commit", c})
	}
	if len(e.Args) > 0 {
		m = append(m, [2]string{"command", strings.Join(e.Args, " ")})
	}
	return m
}

func loadLine(l results.LoadInfo) string {
	levels := make([]string, len(l.Levels))
	for i, v := range l.Levels {
		levels[i] = strconv.Itoa(v)
	}
	list := orDash(strings.Join(levels, ", "))
	kind := "closed loop, concurrency " + list
	if l.Mode == "open" {
		kind = "open loop, rate " + list + " req/s"
	}
	ka := "on"
	if !l.KeepAlive {
		ka = "off"
	}
	line := fmt.Sprintf("%s; %d trials × %s, warm-up %s; keep-alive %s",
		kind, l.Trials, secs(l.DurationS), secs(l.WarmupS), ka)
	if l.Engine != "" {
		line += "; engine " + l.Engine
	}
	return line
}

func secs(s float64) string {
	return time.Duration(math.Round(s * float64(time.Second))).String()
}

func requestsLine(rs []results.Request) string {
	parts := make([]string, len(rs))
	total := 0
	for _, r := range rs {
		total += r.Weight
	}
	for i, r := range rs {
		parts[i] = r.Method + " " + r.Path
		if len(rs) > 1 && total > 0 {
			parts[i] += fmt.Sprintf(" (%.0f%%)", 100*float64(r.Weight)/float64(total))
		}
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// joinPids writes pids in decimal, joined by sep.
func joinPids(pids []int, sep string) string {
	parts := make([]string, len(pids))
	for i, p := range pids {
		parts[i] = strconv.Itoa(p)
	}
	return strings.Join(parts, sep)
}

// levelHeader names the level column for the load mode: "rate/s", or
// "conc", short for concurrency to keep the tables narrow (levelLegend
// spells it out). Prose names a level with results.LevelName.
func levelHeader(mode string) string {
	if mode == "open" {
		return "rate/s"
	}
	return "conc"
}

// levelLegend is the legend line of levelHeader's column: nil for
// "rate/s", which says what it is.
func levelLegend(mode string) []string {
	if mode == "open" {
		return nil
	}
	return []string{"conc: concurrency, the closed loop's connections (each one request at a time)."}
}

// Flag letters of the summary table.
const (
	FlagClientBound = "C" // the load generator was likely the bottleneck
	FlagShortfall   = "R" // open loop: achieved rate >5% below the asked one
	FlagErrors      = "E" // success ratio below 1
	FlagCut         = "X" // every trial of the row was cut short by an interruption
)

// hasErrors reports whether some responses of a summary row were not
// successes in some trial (the flag E).
func hasErrors(s results.Summary) bool { return s.SuccessRatio.N > 0 && s.SuccessRatio.Min < 1 }

func summaryTable(run *results.Run) Table {
	t := Table{
		Title:  fmt.Sprintf("%s: throughput and latency (ms)", run.Scenario.Name),
		Header: []string{"server", levelHeader(run.Load.Mode), "req/s", "p50", "p90", "p99", "p99.9", "max", "ok", "cpu/req", "flag"},
		Align:  []Align{Left, Right, Right, Right, Right, Right, Right, Right, Right, Right, Left},
	}
	seen := map[string]bool{}
	var cutNotes []string
	for _, s := range run.Summary {
		var flags []string
		if s.ClientBound {
			flags = append(flags, FlagClientBound)
		}
		if s.RateShortfall {
			flags = append(flags, FlagShortfall)
		}
		if hasErrors(s) {
			flags = append(flags, FlagErrors)
		}
		if s.OnlyCut {
			flags = append(flags, FlagCut)
		} else if s.CutTrials > 0 {
			cutNotes = append(cutNotes, fmt.Sprintf("%s at %s: %d trial(s) cut short by the interruption, left out of the figures",
				s.Server, results.LevelName(run.Load.Mode, s.Level), s.CutTrials))
		}
		for _, f := range flags {
			seen[f] = true
		}
		t.Rows = append(t.Rows, []string{
			s.Server, strconv.Itoa(s.Level),
			fmtFigure(s.Throughput.Median) + spread(s.Throughput),
			fmtMs(s.P50Ms.Median), fmtMs(s.P90Ms.Median), fmtMs(s.P99Ms.Median), fmtMs(s.P999Ms.Median), fmtMs(s.MaxMs.Median),
			fmtRatio(s.SuccessRatio.Min), cpuPerReq(s.ServerCPUPerReqUs), strings.Join(flags, ""),
		})
	}
	if len(t.Rows) == 0 {
		t.Notes = append(t.Notes, "no measurements: the run recorded no trials.")
	}
	t.Notes = append(t.Notes, cutNotes...)
	t.Legend = append(levelLegend(run.Load.Mode),
		"req/s: successful responses per second, median across trials, then its spread: ±x% = half-width of",
		"  the 95% confidence interval of the median (6 or more trials), ~x% = half the min-max range (2 to 5).",
		"latency columns: median across trials of each trial's percentile, in ms. ok: 2xx share, worst trial.",
		"cpu/req: server CPU time (user+system, all its processes) per request, in µs; - = not measured.")
	if len(seen) > 0 {
		for _, f := range []struct{ flag, text string }{
			{FlagClientBound, "client-bound: the load generator was likely the bottleneck"},
			{FlagShortfall, "rate shortfall: achieved rate more than 5% below the asked rate"},
			{FlagErrors, "errors: some responses were not 2xx"},
			{FlagCut, "cut short: the interruption cut every trial of the row; its figures cover only part of a trial"},
		} {
			if seen[f.flag] {
				t.Legend = append(t.Legend, "flag "+f.flag+" = "+f.text+".")
			}
		}
	}
	return t
}

// spread is appended to a median: how much it can be trusted (see the
// table notes); empty for one trial.
func spread(e results.Estimate) string {
	if e.N <= 1 || e.Median == 0 {
		return ""
	}
	if e.Confidence > 0 {
		half := max(e.Hi-e.Median, e.Median-e.Lo)
		return fmt.Sprintf(" ±%s%%", fmtPct(100*half/math.Abs(e.Median)))
	}
	half := (e.Max - e.Min) / 2
	return fmt.Sprintf(" ~%s%%", fmtPct(100*half/math.Abs(e.Median)))
}

func workerTables(run *results.Run) []Table {
	var order []string
	byServer := map[string][]results.Summary{}
	for _, s := range run.Summary {
		if _, ok := byServer[s.Server]; !ok {
			order = append(order, s.Server)
		}
		byServer[s.Server] = append(byServer[s.Server], s)
	}
	var out []Table
	for _, name := range order {
		t := Table{
			Title:  fmt.Sprintf("%s / %s: requests per worker (all trials)", run.Scenario.Name, name),
			Header: []string{levelHeader(run.Load.Mode), "worker", "pids", "requests", "conns", "share", "p50 ms", "p99 ms", "errors"},
			Align:  []Align{Right, Right, Left, Right, Right, Right, Right, Right, Right},
			Legend: append(levelLegend(run.Load.Mode), "conns: the new connections whose first response came from the worker."),
		}
		reported := false
		for _, s := range byServer[name] {
			if !reportsWorkers(s.Workers) {
				continue
			}
			reported = true
			for _, w := range s.Workers {
				t.Rows = append(t.Rows, []string{
					strconv.Itoa(s.Level), w.ID, orDash(joinPids(w.Pids, ",")),
					strconv.FormatInt(w.Requests, 10), strconv.FormatInt(w.Connections, 10),
					fmtPct(100*w.Share) + "%", fmtMs(w.P50Ms), fmtMs(w.P99Ms), strconv.FormatInt(w.Errors, 10),
				})
			}
			f := s.Fairness
			t.Notes = append(t.Notes, fmt.Sprintf("%s: workers answering %d, max/mean %.2f, Jain's index %.3f (1 = even)",
				results.LevelName(run.Load.Mode, s.Level), f.Workers, f.MaxOverMean, f.Jain))
		}
		if !reported {
			t.Rows, t.Notes = nil, []string{"the server reports no worker ids (no X-Worker-Id header): no per-worker figures"}
		}
		out = append(out, t)
	}
	return out
}

// statusTable breaks down the responses of every server × level where
// anything but 2xx came back: counts by status class, then the status
// codes and failure kinds, most frequent first (trials cut short left out
// as in the summary). ok is false when every response was 2xx.
func statusTable(run *results.Run) (Table, bool) {
	t := Table{
		Title:  fmt.Sprintf("%s: responses other than 2xx", run.Scenario.Name),
		Header: []string{"server", levelHeader(run.Load.Mode), "requests", "2xx", "3xx", "4xx", "5xx", "failed", "codes and failures"},
		Align:  []Align{Left, Right, Right, Right, Right, Right, Right, Right, Left},
	}
	for _, s := range run.Summary {
		var reqs int64
		var class [6]int64 // by first digit; 0 = no response
		detail := map[string]int64{}
		for _, tr := range metrics.RowTrials(run.Trials, s.Server, s.Level) {
			reqs += tr.Requests
			for code, n := range tr.StatusCodes {
				c, err := strconv.Atoi(code)
				if err != nil || c < 100 || c > 599 {
					if code != "0" {
						class[0] += n
						detail["code "+code] += n
					}
					continue
				}
				class[c/100] += n
				if c/100 != 2 {
					detail[code] += n
				}
			}
			for kind, n := range tr.Errors {
				if statusText(kind) {
					continue // vegeta's "503 Service Unavailable": counted by its code
				}
				detail[kind] += n
			}
			class[0] += tr.StatusCodes["0"]
		}
		if class[0]+class[1]+class[3]+class[4]+class[5] == 0 {
			continue
		}
		keys := make([]string, 0, len(detail))
		for k := range detail {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if detail[a] != detail[b] {
				return cmp.Compare(detail[b], detail[a])
			}
			return cmp.Compare(a, b)
		})
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s ×%d", k, detail[k])
		}
		t.Rows = append(t.Rows, []string{
			s.Server, strconv.Itoa(s.Level), strconv.FormatInt(reqs, 10),
			strconv.FormatInt(class[2], 10), strconv.FormatInt(class[3], 10), strconv.FormatInt(class[4], 10),
			strconv.FormatInt(class[5], 10), strconv.FormatInt(class[0], 10), strings.Join(parts, ", "),
		})
	}
	t.Legend = append(levelLegend(run.Load.Mode), "failed: no response (refused, reset, closed, timed out, malformed); all trials of the row")
	return t, len(t.Rows) > 0
}

// statusText reports whether an error kind is a status line ("503 Service
// Unavailable"), which the status codes already count.
func statusText(kind string) bool {
	if len(kind) < 3 || (len(kind) > 3 && kind[3] != ' ') {
		return false
	}
	for _, c := range kind[:3] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// reportsWorkers reports whether any response named its worker: tallies
// other than the catch-alls for responses without an id.
func reportsWorkers(ws []results.Worker) bool {
	for _, w := range ws {
		if w.ID != metrics.UnknownWorker && w.ID != metrics.OtherWorker {
			return true
		}
	}
	return false
}

// fmtMs prints milliseconds with about three significant digits.
func fmtMs(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a < 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case a < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// cpuPerReq is "-" when no CPU time was recorded: a server that answered
// requests used some, so 0 means the measurement is missing.
func cpuPerReq(e results.Estimate) string {
	if e.Median <= 0 {
		return "-"
	}
	return fmtFigure(e.Median)
}

// fmtFigure prints a rate (req/s, tasks/s) or a time in µs: one decimal
// below 100, whole numbers from there.
func fmtFigure(v float64) string {
	if math.Abs(v) < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func fmtPct(v float64) string {
	if math.Abs(v) < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// fmtRatio prints a success ratio as a percentage, never rounding a
// failure up to 100%.
func fmtRatio(v float64) string {
	if v >= 1 {
		return "100%"
	}
	p := math.Floor(v*1000) / 10
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}
