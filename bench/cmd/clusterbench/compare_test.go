package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/gate"
	"github.com/clusterbench/clusterbench/bench/internal/golden"
	"github.com/clusterbench/clusterbench/bench/results"
)

// fakeRun builds a saved run of one server at one open-loop rate whose
// CPU per request is centred on cpuUs, with 1% noise from a fixed seed.
func fakeRun(seed uint64, host string, cpuUs float64, trials int) results.Run {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := func(c float64) float64 { return c * (1 + 0.01*rng.NormFloat64()) }
	run := results.Run{
		Schema:   results.Schema,
		Scenario: results.ScenarioInfo{Name: "gate"},
		Started:  time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Complete: true,
		Env:      results.Environment{Hostname: host, CPUs: 2, CPUModel: "Test CPU", GoVersion: "go1.26.8", Pinning: "server 0, client 1"},
		Load:     results.LoadInfo{Mode: "open", Levels: []int{400}, DurationS: 1, Trials: trials},
		Servers:  []results.Server{{Name: "single"}},
	}
	for i := range trials {
		run.Trials = append(run.Trials, results.Trial{
			Server: "single", Level: 400, Trial: i + 1, Requests: 400, Successes: 400, SuccessRatio: 1,
			Throughput: n(400), Latency: results.Latency{P50Ms: n(0.4), P99Ms: n(1.5)},
			ServerCPUS: 0.03, ServerCPUPerReqUs: n(cpuUs),
		})
	}
	return run
}

func writeRun(t *testing.T, path string, r results.Run) {
	t.Helper()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// gateGolden compares got with testdata/NAME (checkGolden, report_test.go).
func gateGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

// The fixture runs live in testdata/compare so that paths in the output
// are stable; -update regenerates them.
func compareFixtures(t *testing.T) {
	t.Helper()
	if !golden.Updating() {
		return
	}
	writeRun(t, "testdata/compare/base/summary.json", fakeRun(1, "box", 80, 10))
	writeRun(t, "testdata/compare/same.json", fakeRun(2, "box", 80, 10))
	writeRun(t, "testdata/compare/slow.json", fakeRun(3, "box", 92, 10))
	writeRun(t, "testdata/compare/other-machine.json", fakeRun(4, "elsewhere", 80, 10))
	writeRun(t, "testdata/compare/short.json", fakeRun(5, "box", 80, 3))
	two := fakeRun(1, "box", 80, 10)
	pool := fakeRun(6, "box", 80, 10)
	for i := range pool.Trials {
		pool.Trials[i].Server = "pool"
	}
	two.Servers = append(two.Servers, results.Server{Name: "pool"})
	two.Trials = append(two.Trials, pool.Trials...)
	writeRun(t, "testdata/compare/two-servers.json", two)
	lost := fakeRun(8, "box", 80, 10) // the same two-server scenario; pool failed to start
	lost.Complete, lost.Incomplete = false, "server pool: not healthy after 20s"
	writeRun(t, "testdata/compare/lost-pool.json", lost)
	kernel := fakeRun(9, "box", 80, 10)
	kernel.Env.Kernel = "6.99"
	writeRun(t, "testdata/compare/other-kernel.json", kernel)
	closed := fakeRun(7, "box", 80, 10)
	closed.Load.Mode = "closed"
	writeRun(t, "testdata/compare/closed.json", closed)
}

func TestCompare(t *testing.T) {
	compareFixtures(t)
	tests := []struct {
		name string
		args []string
		code int
		want []string // substrings of stdout+stderr
	}{
		{"same", []string{"testdata/compare/base", "testdata/compare/same.json"}, ExitOK, []string{"PASS", "same machine"}},
		{"slow", []string{"testdata/compare/base", "testdata/compare/slow.json"}, ExitRegression, []string{"FAIL", "REGRESSION"}},
		{"other-machine", []string{"testdata/compare/base/summary.json", "testdata/compare/other-machine.json"}, ExitOK, []string{"DIFFERENT MACHINES", "weak"}},
		{"short", []string{"testdata/compare/base", "testdata/compare/short.json"}, ExitOK, []string{"INCONCLUSIVE", "too few samples"}},
		{"short-strict", []string{"--strict", "testdata/compare/base", "testdata/compare/short.json"}, ExitMeasurement, []string{"inconclusive (--strict)"}},
		{"missing", []string{"testdata/compare/base", "testdata/compare/nope"}, ExitUsage, []string{"no saved run there"}},
		{"one-arg", []string{"testdata/compare/base"}, ExitUsage, []string{"two arguments"}},
		{"bad-threshold", []string{"--threshold", "five", "testdata/compare/base", "testdata/compare/same.json"}, ExitUsage, []string{"not a percentage"}},
		{"bad-alpha", []string{"--alpha", "0.9", "testdata/compare/base", "testdata/compare/same.json"}, ExitUsage, []string{"alpha"}},
		{"bad-metric", []string{"--metrics", "cpu,speed", "testdata/compare/base", "testdata/compare/same.json"}, ExitUsage, []string{"unknown metric"}},
		{"head-lacks-a-server", []string{"testdata/compare/two-servers.json", "testdata/compare/lost-pool.json"}, ExitMeasurement,
			[]string{"head has no trials of pool@400", "pool@400 server CPU/req", "no head trials: nothing to compare", "ERROR: the measurement failed", "the head run is incomplete"}},
		{"different-scenarios", []string{"testdata/compare/two-servers.json", "testdata/compare/same.json"}, ExitUsage,
			[]string{"measured different scenarios", "servers: base [single pool], head [single]", "--allow-different"}},
		{"allow-different", []string{"--allow-different", "testdata/compare/two-servers.json", "testdata/compare/same.json"}, ExitMeasurement,
			[]string{"DIFFERENT SCENARIOS (--allow-different): servers: base [single pool], head [single]", "head has no trials of pool@400"}},
		{"other-mode", []string{"testdata/compare/base", "testdata/compare/closed.json"}, ExitUsage, []string{"load mode: base open, head closed"}},
		{"other-mode-allowed", []string{"--allow-different", "testdata/compare/base", "testdata/compare/closed.json"}, ExitUsage,
			[]string{"base was measured in open loop and head in closed loop"}},
		{"other-kernel", []string{"testdata/compare/base", "testdata/compare/other-kernel.json"}, ExitOK,
			[]string{"DIFFERENT MACHINES OR ENVIRONMENTS (kernel \"\" vs \"6.99\")"}},
		{"not-json", []string{"testdata/compare/base", "compare_test.go"}, ExitMeasurement, []string{"not a clusterbench run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), &out, &errb, append([]string{"compare", "--annotate=false"}, tt.args...))
			all := out.String() + errb.String()
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, all)
			}
			for _, s := range tt.want {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, all)
				}
			}
			if tt.code == ExitOK || tt.code == ExitRegression {
				gateGolden(t, "compare/"+tt.name+".txt", out.Bytes())
			}
		})
	}
}

// The output files are written and each matches its golden file.
func TestCompareFiles(t *testing.T) {
	dir := t.TempDir()
	md, bf, ju := filepath.Join(dir, "s.md"), filepath.Join(dir, "b.txt"), filepath.Join(dir, "j.xml")
	var out, errb bytes.Buffer
	code := Main(context.Background(), &out, &errb, []string{"compare", "--annotate", "--summary", md, "--benchfmt", bf, "--junit", ju,
		"testdata/compare/base", "testdata/compare/slow.json"})
	if code != ExitRegression {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "::error title=") {
		t.Errorf("no annotation with --annotate:\n%s", out.String())
	}
	for name, path := range map[string]string{"slow.md": md, "slow.benchfmt": bf, "slow.junit.xml": ju} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		gateGolden(t, "compare/"+name, got)
	}
	// A file that cannot be written is a measurement failure, not a pass.
	code = Main(context.Background(), &out, &errb, []string{"compare", "--annotate=false", "--summary", filepath.Join(dir, "no", "such", "dir.md"),
		"testdata/compare/base", "testdata/compare/same.json"})
	if code != ExitMeasurement {
		t.Errorf("unwritable --summary: exit %d, want %d", code, ExitMeasurement)
	}
}

func TestParseThreshold(t *testing.T) {
	for in, want := range map[string]float64{"5%": 0.05, "0.05": 0.05, " 2.5% ": 0.025, "0": 0, "0%": 0} {
		if got, err := parseThreshold(in); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("parseThreshold(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "%", "five", "5%%", "0x"} {
		if _, err := parseThreshold(bad); err == nil {
			t.Errorf("parseThreshold(%q) accepted", bad)
		}
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"5%", "0.05", "1e-2", "-3%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseThreshold(s)
		if err == nil && math.IsNaN(v) {
			// NaN must not reach the gate: validate() rejects it.
			o := gateOptions{threshold: s, alpha: 0.01, confidence: 0.95}
			if o.validate() == nil {
				t.Errorf("threshold %q (NaN) passed validation", s)
			}
		}
	})
}

// FuzzLoadRun: any bytes in a summary.json give a run or an error, never a
// panic, and a run that loads has trials to compare.
func FuzzLoadRun(f *testing.F) {
	f.Add([]byte(`{"schema":1,"trials":[{"server":"a","level":1}]}`))
	f.Add([]byte(`{"schema":99}`))
	f.Add([]byte(`[]`))
	if data, err := os.ReadFile("testdata/compare/slow.json"); err == nil {
		f.Add(data)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "summary.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		run, _, err := loadRun(p)
		if err == nil && len(run.Trials) == 0 {
			t.Error("a run without trials loaded")
		}
		if err == nil {
			defs, _ := gate.ParseMetrics("cpu,throughput,p50,p99")
			if ms, _, err := pairRuns(run, run, defs, false); err == nil {
				if _, err := gate.Evaluate(ms, gate.Options{}); err != nil {
					t.Errorf("evaluate: %v", err)
				}
			}
		}
	})
}

// --summary "$GITHUB_STEP_SUMMARY" appends to what the step wrote before.
func TestCompareAppendsToStepSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "step_summary")
	if err := os.WriteFile(path, []byte("## earlier\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_STEP_SUMMARY", path)
	var out, errb bytes.Buffer
	code := Main(context.Background(), &out, &errb, []string{"compare", "--annotate=false", "--summary", path,
		"testdata/compare/base", "testdata/compare/slow.json"})
	if code != ExitRegression {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	got, _ := os.ReadFile(path)
	want, _ := os.ReadFile("testdata/compare/slow.md")
	if string(got) != "## earlier\n"+string(want) {
		t.Errorf("step summary:\n%s\nwant the earlier line, then testdata/compare/slow.md", got)
	}
}

// Pinning is compared by CPU lists, not by its free-text description.
func TestMachineNotesPinning(t *testing.T) {
	env := func(srv, cli, note string) results.Environment {
		return results.Environment{Hostname: "box", ServerCPUs: srv, ClientCPUs: cli, Pinning: note}
	}
	has := func(notes []string) bool {
		for _, n := range notes {
			if strings.Contains(n, "CPU pinning differs") {
				return true
			}
		}
		return false
	}
	if has(machineNotes(env("0", "1", "auto split"), env("0", "1", "servers on CPU 0, load generator on CPU 1 (auto split)"))) {
		t.Error("same CPU lists, other wording: noted as a difference")
	}
	if !has(machineNotes(env("0", "1", "auto"), env("1", "0", "auto"))) {
		t.Error("swapped CPU lists not noted")
	}
	if !has(machineNotes(env("", "", "off (pin: off)"), env("", "", "off (only 1 CPU available)"))) {
		t.Error("unpinned runs with different notes not noted")
	}
}
