package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// bigFixture is the closed fixture with throughputs in the millions and
// latencies in microseconds: the figures %g would write in exponent form.
func bigFixture() *results.Run {
	run := closedFixture()
	for i := range run.Trials {
		t := &run.Trials[i]
		t.Throughput *= 822.6405588
		t.AchievedRate *= 822.6405588
		t.Latency.P50Ms /= 1e4
		t.Latency.P99Ms /= 3e3
		t.ServerCPUPerReqUs /= 1e5
	}
	run.Summary = metrics.Summarize(run.Trials, run.Servers)
	return run
}

// csvRuns are the runs the CSV tests render: the saved fixtures, read back
// from testdata/*/summary.json as `report` reads a run directory, and the
// big fixture.
func csvRuns(t *testing.T) map[string]*results.Run {
	t.Helper()
	runs := map[string]*results.Run{"big": bigFixture()}
	for name := range fixtures {
		run, err := ReadRun(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		runs[name] = run
	}
	return runs
}

// plainDecimal is a number as the CSV files must write it: no exponent,
// no NaN or Inf.
var plainDecimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// wantDecimals is the precision a column's unit calls for, by its name;
// ok is false for a column of text or booleans.
func wantDecimals(col string) (decimals int, ok bool) {
	for _, suffix := range []string{"_lo", "_hi", "_min", "_max"} {
		col = strings.TrimSuffix(col, suffix)
	}
	switch {
	case strings.HasSuffix(col, "_rps") || col == "tasks_per_s":
		return 1, true
	case strings.HasSuffix(col, "_ms"):
		return 4, true
	case strings.HasSuffix(col, "_us"):
		return 2, true
	case strings.HasSuffix(col, "_s"):
		return 3, true
	case slices.Contains([]string{"success_ratio", "share", "client_cpu_util", "jain", "max_over_mean", "ci_confidence"}, col):
		return 4, true
	case slices.Contains([]string{"level", "trials", "trial", "cut_trials", "requests", "successes", "dropped", "workers_seen",
		"connections", "workers", "inflight", "n", "tasks", "crashes", "checked", "mismatches"}, col):
		return 0, true
	}
	return 0, false
}

// readCSV parses a rendered CSV with encoding/csv (which refuses rows of
// another width than the header's) and checks the shape every file keeps:
// one header, the given columns, plain decimals at the unit's precision.
func readCSV(t *testing.T, name string, data []byte, header []string) (rows []map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("%s: encoding/csv: %v", name, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], header) {
		t.Fatalf("%s: header %v, want %v", name, recs[0], header)
	}
	for i, r := range recs[1:] {
		if slices.Equal(r, header) {
			t.Errorf("%s row %d repeats the header", name, i+2)
		}
		if len(r) != len(header) {
			t.Errorf("%s row %d has %d fields, the header %d", name, i+2, len(r), len(header))
			continue
		}
		row := map[string]string{}
		for j, v := range r {
			col := header[j]
			row[col] = v
			if _, err := strconv.ParseFloat(v, 64); err == nil && !plainDecimal.MatchString(v) { // 7.4e+06, NaN, Inf, 0x1p-2
				t.Errorf("%s row %d %s = %q: a number, but not a plain decimal", name, i+2, col, v)
			}
			want, numeric := wantDecimals(col)
			if !numeric || v == "" {
				continue
			}
			if !plainDecimal.MatchString(v) {
				t.Errorf("%s row %d %s = %q: not a plain decimal", name, i+2, col, v)
				continue
			}
			got := 0
			if k := strings.IndexByte(v, '.'); k >= 0 {
				got = len(v) - k - 1
			}
			if got != want {
				t.Errorf("%s row %d %s = %q: %d decimals, want %d", name, i+2, col, v, got, want)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// jsonOf decodes the run's summary.json into plain maps, so that the CSV
// is checked against the saved document, not against the structs that
// wrote both.
func jsonOf(t *testing.T, run *results.Run) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := JSON(run)(&b); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// field walks a dotted path of JSON object keys; a missing key is nil
// (omitempty: zero).
func field(obj any, path string) any {
	for k := range strings.SplitSeq(path, ".") {
		m, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		obj = m[k]
	}
	return obj
}

// sameValue compares one CSV cell with its JSON value: numbers to within
// half a unit of the cell's last decimal, booleans and strings exactly.
func sameValue(cell string, v any) error {
	switch v := v.(type) {
	case nil:
		if cell == "" || cell == "false" {
			return nil
		}
		if f, err := strconv.ParseFloat(cell, 64); err == nil && f == 0 {
			return nil
		}
		return fmt.Errorf("csv %q, json absent (zero)", cell)
	case bool:
		if cell != strconv.FormatBool(v) {
			return fmt.Errorf("csv %q, json %v", cell, v)
		}
		return nil
	case float64:
		f, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			return fmt.Errorf("csv %q is not a number (json %v)", cell, v)
		}
		decimals := 0
		if k := strings.IndexByte(cell, '.'); k >= 0 {
			decimals = len(cell) - k - 1
		}
		if math.Abs(f-v) > 0.5*math.Pow(10, -float64(decimals))*(1+1e-9) {
			return fmt.Errorf("csv %s, json %v", cell, v)
		}
		return nil
	case string:
		if cell != v {
			return fmt.Errorf("csv %q, json %q", cell, v)
		}
		return nil
	}
	return fmt.Errorf("json value %v of type %T: no comparison", v, v)
}

// counts parses "key=n; key=n" back into the JSON object it came from.
func counts(cell string) map[string]any {
	m := map[string]any{}
	for p := range strings.SplitSeq(cell, "; ") {
		if k, n, ok := strings.Cut(p, "="); ok {
			f, _ := strconv.ParseFloat(n, 64)
			m[k] = f
		}
	}
	return m
}

// findObj returns the element of a JSON array whose keys have the values.
func findObj(list any, match map[string]any) map[string]any {
	items, _ := list.([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		ok := m != nil
		for k, v := range match {
			ok = ok && fmt.Sprint(m[k]) == fmt.Sprint(v)
		}
		if ok {
			return m
		}
	}
	return nil
}

func levelOf(t *testing.T, row map[string]string) float64 {
	t.Helper()
	l, err := strconv.Atoi(row["level"])
	if err != nil {
		t.Fatalf("level %q: %v", row["level"], err)
	}
	return float64(l)
}

// estimateKeys maps a summary.csv figure to its summary.json field.
var estimateKeys = map[string]string{
	"success_ratio": "success_ratio", "throughput_rps": "throughput", "achieved_rps": "achieved_rate",
	"p50_ms": "p50_ms", "p90_ms": "p90_ms", "p99_ms": "p99_ms", "p999_ms": "p999_ms", "max_ms": "max_ms",
	"server_cpu_per_req_us": "server_cpu_per_req_us", "client_cpu_util": "client_cpu_util",
}

// summaryPath is the summary.json path (in a summary object) of a
// summary.csv column; "" for the columns that identify the row.
func summaryPath(col string) (string, bool) {
	fixed := map[string]string{
		"scenario": "", "server": "", "mode": "", "level": "", "target_rps": "",
		"trials": "trials", "cut_trials": "cut_trials", "only_cut": "only_cut", "ci_confidence": "throughput.confidence",
		"client_bound": "client_bound", "rate_shortfall": "rate_shortfall",
		"workers_seen": "fairness.workers", "max_over_mean": "fairness.max_over_mean", "jain": "fairness.jain",
	}
	if p, ok := fixed[col]; ok {
		return p, true
	}
	for _, sfx := range []struct{ col, key string }{{"_lo", "lo"}, {"_hi", "hi"}, {"_min", "min"}, {"_max", "max"}, {"", "median"}} {
		if base, ok := strings.CutSuffix(col, sfx.col); ok {
			if k, ok := estimateKeys[base]; ok {
				return k + "." + sfx.key, true
			}
		}
	}
	return "", false
}

// TestSummaryCSV: summary.csv has one row per summary row of
// summary.json, and every cell equals the figure there.
func TestSummaryCSV(t *testing.T) {
	for name, run := range csvRuns(t) {
		var b bytes.Buffer
		if err := SummaryCSV(run)(&b); err != nil {
			t.Fatal(err)
		}
		doc := jsonOf(t, run)
		rows := readCSV(t, name+" summary.csv", b.Bytes(), SummaryColumns)
		if want := len(doc["summary"].([]any)); len(rows) != want {
			t.Errorf("%s: summary.csv has %d rows, summary.json %d summary rows", name, len(rows), want)
		}
		for _, row := range rows {
			s := findObj(doc["summary"], map[string]any{"server": row["server"], "level": levelOf(t, row)})
			if s == nil {
				t.Errorf("%s: summary.csv row %s/%s is not in summary.json", name, row["server"], row["level"])
				continue
			}
			if row["scenario"] != field(doc, "scenario.name") || row["mode"] != field(doc, "load.mode") {
				t.Errorf("%s: row names scenario %q mode %q", name, row["scenario"], row["mode"])
			}
			wantTarget := ""
			if row["mode"] == "open" {
				wantTarget = row["level"] + ".0"
			}
			if row["target_rps"] != wantTarget {
				t.Errorf("%s: target_rps %q, want %q", name, row["target_rps"], wantTarget)
			}
			for _, col := range SummaryColumns {
				path, ok := summaryPath(col)
				if !ok {
					t.Fatalf("summary.csv column %s has no summary.json field in this test", col)
				}
				if path == "" {
					continue
				}
				if err := sameValue(row[col], field(s, path)); err != nil {
					t.Errorf("%s %s/%s %s: %v", name, row["server"], row["level"], col, err)
				}
			}
		}
	}
}

// trialPaths maps each trials.csv column to its summary.json field in a
// trial object; "" for the columns that identify the row.
var trialPaths = map[string]string{
	"scenario": "", "server": "", "mode": "", "level": "", "trial": "trial",
	"cut": "cut", "duration_s": "duration_s", "requests": "requests", "successes": "successes", "success_ratio": "success_ratio",
	"throughput_rps": "throughput", "achieved_rps": "achieved_rate", "target_rps": "target_rate",
	"rate_shortfall": "rate_shortfall", "dropped": "dropped",
	"mean_ms": "latency.mean_ms", "p50_ms": "latency.p50_ms", "p90_ms": "latency.p90_ms", "p99_ms": "latency.p99_ms",
	"p999_ms": "latency.p999_ms", "max_ms": "latency.max_ms",
	"server_cpu_s": "server_cpu_s", "server_cpu_per_req_us": "server_cpu_per_req_us", "client_cpu_s": "client_cpu_s",
	"client_cpu_util": "client_cpu_util", "client_wait_s": "client_wait_s", "client_bound": "client_bound",
	"workers_seen": "fairness.workers", "max_over_mean": "fairness.max_over_mean", "jain": "fairness.jain",
	"status_codes": "status_codes", "errors": "errors",
}

// TestTrialsCSV: trials.csv has one row per trial of summary.json, in
// run order, and every cell equals the figure there.
func TestTrialsCSV(t *testing.T) {
	for name, run := range csvRuns(t) {
		var b bytes.Buffer
		if err := TrialsCSV(run)(&b); err != nil {
			t.Fatal(err)
		}
		doc := jsonOf(t, run)
		rows := readCSV(t, name+" trials.csv", b.Bytes(), TrialColumns)
		trials := doc["trials"].([]any)
		if len(rows) != len(trials) {
			t.Fatalf("%s: trials.csv has %d rows, summary.json %d trials", name, len(rows), len(trials))
		}
		for i, row := range rows {
			tr := trials[i].(map[string]any)
			if row["server"] != tr["server"] || levelOf(t, row) != tr["level"] {
				t.Errorf("%s: trials.csv row %d is %s/%s, summary.json trial %d is %v/%v", name, i+2, row["server"], row["level"], i, tr["server"], tr["level"])
			}
			for _, col := range TrialColumns {
				path, ok := trialPaths[col]
				if !ok {
					t.Fatalf("trials.csv column %s has no summary.json field in this test", col)
				}
				if path == "" {
					continue
				}
				var err error
				if col == "status_codes" || col == "errors" {
					want, _ := field(tr, path).(map[string]any)
					if got := counts(row[col]); len(got) != len(want) || fmt.Sprint(got) != fmt.Sprint(want) && len(want) > 0 {
						err = fmt.Errorf("csv %q, json %v", row[col], want)
					}
				} else {
					err = sameValue(row[col], field(tr, path))
				}
				if err != nil {
					t.Errorf("%s %s/%s trial %s %s: %v", name, row["server"], row["level"], row["trial"], col, err)
				}
			}
		}
	}
}

// TestWorkersCSV: workers.csv has one row per worker of each summary row
// of summary.json (its tallies merged over the trials), each cell equal to
// the figure there.
func TestWorkersCSV(t *testing.T) {
	for name, run := range csvRuns(t) {
		var b bytes.Buffer
		if err := WorkersCSV(run)(&b); err != nil {
			t.Fatal(err)
		}
		doc := jsonOf(t, run)
		rows := readCSV(t, name+" workers.csv", b.Bytes(), WorkerColumns)
		want := 0
		for _, s := range doc["summary"].([]any) {
			ws, _ := s.(map[string]any)["workers"].([]any)
			want += len(ws)
		}
		if len(rows) != want || want == 0 {
			t.Errorf("%s: workers.csv has %d rows, summary.json %d workers in its summary rows", name, len(rows), want)
		}
		for _, row := range rows {
			s := findObj(doc["summary"], map[string]any{"server": row["server"], "level": levelOf(t, row)})
			w := findObj(field(s, "workers"), map[string]any{"id": row["worker"]})
			if w == nil {
				t.Errorf("%s: workers.csv row %s/%s worker %s is not in summary.json", name, row["server"], row["level"], row["worker"])
				continue
			}
			var pids []string
			for _, p := range w["pids"].([]any) {
				pids = append(pids, strconv.Itoa(int(p.(float64))))
			}
			if row["pids"] != strings.Join(pids, " ") {
				t.Errorf("%s: pids %q, json %v", name, row["pids"], w["pids"])
			}
			if err := sameValue(row["trials"], s["trials"]); err != nil {
				t.Errorf("%s: trials: %v", name, err)
			}
			for _, col := range []string{"requests", "connections", "share", "p50_ms", "p99_ms", "errors"} {
				if err := sameValue(row[col], w[col]); err != nil {
					t.Errorf("%s %s/%s worker %s %s: %v", name, row["server"], row["level"], row["worker"], col, err)
				}
			}
		}
	}
}

// TestCalcCSVPlainDecimals: calc.csv writes its rates and times as plain
// decimals too (the process pool's 1.9 million tasks/s among them).
func TestCalcCSVPlainDecimals(t *testing.T) {
	var b bytes.Buffer
	if err := CalcCSV(calcFixture())(&b); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, "calc.csv", b.Bytes(), CalcColumns)
	if len(rows) != 2 || rows[1]["tasks_per_s"] != "1900000.0" {
		t.Errorf("calc.csv rows %v; want 2, the second at 1900000.0 tasks/s", rows)
	}
}

// TestDecimal: the one number format of the CSV files.
func TestDecimal(t *testing.T) {
	tests := []struct {
		v    float64
		prec int
		want string
	}{
		{7.403765029226548e+06, 1, "7403765.0"},
		{0.04234, 4, "0.0423"},
		{1e-9, 4, "0.0000"},
		{-1e-9, 4, "0.0000"}, // never "-0.0000"
		{-2.5, 1, "-2.5"},
		{math.NaN(), 2, ""},
		{math.Inf(1), 2, ""},
		{1e21, 1, "1000000000000000000000.0"},
	}
	for _, tt := range tests {
		if got := decimal(tt.v, tt.prec); got != tt.want {
			t.Errorf("decimal(%v, %d) = %q, want %q", tt.v, tt.prec, got, tt.want)
		}
	}
}
