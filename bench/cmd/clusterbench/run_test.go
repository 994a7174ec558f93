package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
)

// clusterbench runs the test binary as the clusterbench binary (see
// TestMain) in dir and returns the command, not yet started.
func clusterbench(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envBeMain+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// If this test dies, so does the run (and with it its servers).
	cmd.SysProcAttr = testChildAttr()
	return cmd, &stdout, &stderr
}

func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("run: %v", err)
	return -1
}

func writeScenario(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runDirs lists the run directories written under out.
func runDirs(t *testing.T, out string) []string {
	t.Helper()
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, filepath.Join(out, e.Name()))
		}
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary %s left in %s", e.Name(), out)
		}
	}
	return dirs
}

// serverPids are the X-Worker-Pid values a run saw: the server processes.
func serverPids(run *results.Run) []int {
	var pids []int
	for _, tr := range run.Trials {
		for _, w := range tr.Workers {
			pids = append(pids, w.Pids...)
		}
	}
	return pids
}

func assertGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if st, err := metrics.ParseProcStat(b); err == nil && st.State != 'Z' {
			t.Errorf("server process %d still alive after the run: %s", pid, b)
		}
	}
}

const e2eScenario = `name: e2e
description: end-to-end test
servers:
  - model: single
  - model: prefork
    workers: 2
    balance: roundrobin
requests:
  - path: /
    weight: 2
  - path: /calc/fibonacci?n=15
load:
  concurrency: [1, 4]
  duration: 200ms
  warmup: 0s
  trials: 1
`

// TestRunEndToEnd runs the real binary against real servers on loopback
// and checks that summary.json, summary.csv and trials.csv say the same thing.
func TestRunEndToEnd(t *testing.T) {
	t.Parallel() // a run of its own: its own process, servers and ports
	dir := t.TempDir()
	sc := writeScenario(t, dir, "e2e", e2eScenario)
	out := filepath.Join(dir, "runs")
	cmd, stdout, stderr := clusterbench(t, dir, "run", sc, "--out", out, "--trials", "2", "--format", "table,csv")
	if code := exitCodeOf(t, cmd.Run()); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	dirs := runDirs(t, out)
	if len(dirs) != 1 {
		t.Fatalf("run directories %v, want one", dirs)
	}
	for _, f := range []string{report.SummaryJSON, report.SummaryFile, report.TrialsFile, report.WorkersFile, report.ReportFile} {
		if _, err := os.Stat(filepath.Join(dirs[0], f)); err != nil {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	if !strings.Contains(stdout.String(), "e2e: throughput and latency") || !strings.Contains(stdout.String(), "verdict:\n  concurrency 1  req/s ") || !strings.Contains(stdout.String(), "report: "+filepath.Join(dirs[0], report.ReportFile)) {
		t.Errorf("stdout lacks the tables or the report path:\n%s", stdout)
	}
	run, err := report.ReadRun(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || len(run.Trials) != 2*2*2 || len(run.Summary) != 4 {
		t.Fatalf("complete %v (%s), %d trials, %d summaries; want complete, 8, 4\nwarnings: %v", run.Complete, run.Incomplete, len(run.Trials), len(run.Summary), run.Warnings)
	}
	for _, tr := range run.Trials {
		if tr.Requests == 0 || tr.SuccessRatio != 1 {
			t.Errorf("trial %s c=%d #%d: %d requests, success %.3f", tr.Server, tr.Level, tr.Trial, tr.Requests, tr.SuccessRatio)
		}
		if tr.Server == "prefork" && tr.Level == 4 && tr.Fairness.Workers != 2 {
			t.Errorf("prefork roundrobin with 4 connections: %d workers answered, want 2 (%+v)", tr.Fairness.Workers, tr.Workers)
		}
	}
	if run.Env.Args[0] != "clusterbench" || run.Env.Args[1] != "run" || run.Env.Kernel == "" || run.Env.CPUModel == "" && run.Env.Arch == "amd64" {
		t.Errorf("environment not recorded: %+v", run.Env)
	}
	compareCSVWithJSON(t, dirs[0], run)
	checkHistograms(t, dirs[0], run)
	assertGone(t, serverPids(run))
}

// compareCSVWithJSON checks every row of summary.csv (one per server ×
// level) and of trials.csv (one per trial) against summary.json, to the
// precision the CSV writes.
func compareCSVWithJSON(t *testing.T, dir string, run *results.Run) {
	t.Helper()
	read := func(name string) (rows [][]string, col map[string]int) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err = csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col = map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		return rows[1:], col
	}
	same := func(what, cell string, jsonV float64) {
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			t.Errorf("%s: csv %q: %v", what, cell, err)
			return
		}
		decimals := 0
		if k := strings.IndexByte(cell, '.'); k >= 0 {
			decimals = len(cell) - k - 1
		}
		if math.Abs(v-jsonV) > 0.5*math.Pow(10, -float64(decimals))*(1+1e-9) {
			t.Errorf("%s: csv %s, json %v", what, cell, jsonV)
		}
	}
	rows, col := read(report.SummaryFile)
	if len(rows) != len(run.Summary) {
		t.Errorf("summary.csv has %d rows; summary.json %d summaries", len(rows), len(run.Summary))
	}
	for _, row := range rows {
		server, level := row[col["server"]], row[col["level"]]
		var s *results.Summary
		for i := range run.Summary {
			if x := &run.Summary[i]; x.Server == server && strconv.Itoa(x.Level) == level {
				s = x
			}
		}
		if s == nil {
			t.Errorf("summary.csv row %s/%s is not in summary.json", server, level)
			continue
		}
		what := fmt.Sprintf("summary.csv %s c=%s ", server, level)
		same(what+"throughput", row[col["throughput_rps"]], s.Throughput.Median)
		same(what+"throughput lo", row[col["throughput_rps_lo"]], s.Throughput.Lo)
		same(what+"throughput max", row[col["throughput_rps_max"]], s.Throughput.Max)
		same(what+"p99", row[col["p99_ms"]], s.P99Ms.Median)
		same(what+"p99 hi", row[col["p99_ms_hi"]], s.P99Ms.Hi)
		same(what+"cpu/req", row[col["server_cpu_per_req_us"]], s.ServerCPUPerReqUs.Median)
	}
	rows, col = read(report.TrialsFile)
	if len(rows) != len(run.Trials) {
		t.Errorf("trials.csv has %d rows; summary.json %d trials", len(rows), len(run.Trials))
	}
	for i, row := range rows {
		if i >= len(run.Trials) {
			break
		}
		tr := run.Trials[i]
		what := fmt.Sprintf("trials.csv row %d (%s c=%d trial %d) ", i+2, tr.Server, tr.Level, tr.Trial)
		if row[col["server"]] != tr.Server || row[col["level"]] != strconv.Itoa(tr.Level) || row[col["trial"]] != strconv.Itoa(tr.Trial) {
			t.Errorf("%sis %s/%s/%s", what, row[col["server"]], row[col["level"]], row[col["trial"]])
		}
		same(what+"requests", row[col["requests"]], float64(tr.Requests))
		same(what+"throughput", row[col["throughput_rps"]], tr.Throughput)
		same(what+"p50", row[col["p50_ms"]], tr.Latency.P50Ms)
		same(what+"p99", row[col["p99_ms"]], tr.Latency.P99Ms)
		same(what+"max", row[col["max_ms"]], tr.Latency.MaxMs)
		same(what+"cpu/req", row[col["server_cpu_per_req_us"]], tr.ServerCPUPerReqUs)
	}
}

// TestRunInterruptKeepsPartialResults sends SIGINT to a running
// `clusterbench run` and checks that it stops at once, saves what it
// measured marked incomplete, exits 3 and leaves no server process.
func TestRunInterruptKeepsPartialResults(t *testing.T) {
	t.Parallel() // a run of its own: its own process, servers and ports
	dir := t.TempDir()
	sc := writeScenario(t, dir, "long", strings.NewReplacer("duration: 200ms", "duration: 1m", "concurrency: [1, 4]", "concurrency: [2]").Replace(e2eScenario))
	out := filepath.Join(dir, "runs")
	cmd, stdout, stderr := clusterbench(t, dir, "run", sc, "--out", out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the first trial is under way: its run directory does
	// not exist yet, and in a log progress says nothing as a trial begins, so wait
	// until the generator holds its 2 keep-alive connections to the
	// server (the health checks use one short connection at a time).
	deadline := time.Now().Add(60 * time.Second)
	for !loadFlowing(t, cmd.Process.Pid, 2) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no trial under way within 60s\nstderr:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let the trial measure a little: the load, not a readiness guess
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(45 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("run still going 45s after SIGINT\nstderr:\n%s", stderr)
	}
	if code := exitCodeOf(t, err); code != ExitMeasurement {
		t.Errorf("exit %d after SIGINT, want %d\nstderr:\n%s", code, ExitMeasurement, stderr)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say interrupted:\n%s", stderr)
	}
	dirs := runDirs(t, out)
	if len(dirs) != 1 {
		t.Fatalf("run directories %v, want the partial run\nstdout:\n%s\nstderr:\n%s", dirs, stdout, stderr)
	}
	run, err := report.ReadRun(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if run.Complete || run.Incomplete != "interrupted" || len(run.Trials) != 1 || run.Trials[0].Requests == 0 {
		t.Errorf("complete %v (%q), trials %+v: want the cut trial kept, marked interrupted", run.Complete, run.Incomplete, run.Trials)
	}
	if len(run.Servers) != 1 {
		t.Errorf("servers %+v: the second server must not start after the interruption", run.Servers)
	}
	assertGone(t, serverPids(run))
}

// loadFlowing reports whether a server started by the run process pid (a
// child with --addr 127.0.0.1:PORT on its command line) has at least n
// established connections on its port, per /proc/net/tcp.
func loadFlowing(t *testing.T, pid, n int) bool {
	t.Helper()
	procs, _ := metrics.TreeProcs(pid)
	port := ""
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.Pid))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i, a := range args {
			if a == "--addr" && i+1 < len(args) {
				if _, pt, ok := strings.Cut(args[i+1], ":"); ok {
					port = pt
				}
			}
		}
	}
	if port == "" {
		return false
	}
	pn, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("server port %q: %v", port, err)
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf(":%04X", pn)
	est := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		// sl local_address rem_address st ...; 01 = ESTABLISHED
		if f := strings.Fields(line); len(f) > 3 && strings.HasSuffix(f[1], local) && f[3] == "01" {
			est++
		}
	}
	return est >= n
}

// TestRunServerNeverHealthy: a server that never answers /healthz makes the
// run exit 3 with the server's stderr in the message; the other server is
// still measured and the run is saved, incomplete.
func TestRunServerNeverHealthy(t *testing.T) {
	t.Parallel() // a run of its own: its own process, servers and ports
	dir := t.TempDir()
	sc := writeScenario(t, dir, "broken", `name: broken
servers:
  - name: mute
    command: [sh, -c, 'echo "mute: cannot reach the database" >&2; exec sleep 60']
  - model: single
requests:
  - path: /
load:
  concurrency: 2
  duration: 200ms
  warmup: 0s
  trials: 1
`)
	out := filepath.Join(dir, "runs")
	// The timeout also bounds the start of the healthy server (a race-built
	// binary on a loaded machine): 3s leaves it room, 1s did not always.
	cmd, stdout, stderr := clusterbench(t, dir, "run", sc, "--out", out, "--start-timeout", "3s")
	code := exitCodeOf(t, cmd.Run())
	if code != ExitMeasurement {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitMeasurement, stdout, stderr)
	}
	for _, want := range []string{"server mute", "not healthy after 3s", "mute: cannot reach the database"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	dirs := runDirs(t, out)
	if len(dirs) != 1 {
		t.Fatalf("run directories %v, want one", dirs)
	}
	run, err := report.ReadRun(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if run.Complete || !strings.Contains(run.Incomplete, "server mute failed") || len(run.Trials) != 1 || run.Trials[0].Server != "single" {
		t.Errorf("complete %v (%q), trials %+v: want single measured, mute named", run.Complete, run.Incomplete, run.Trials)
	}
}

func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeScenario(t, dir, "good", e2eScenario)
	bad := writeScenario(t, dir, "bad", "name: bad\nservers: []\n")
	var all strings.Builder
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no scenario given"},
		{[]string{good, "--concurrency", "0"}, "--concurrency: 0 is out of range"},
		{[]string{good, "--concurrency", "1", "--rate", "10"}, "not both"},
		{[]string{good, "--servers", "nginx"}, `"nginx" is not a server of scenario e2e`},
		{[]string{good, "--format", "pdf"}, `"pdf" is not a format`},
		{[]string{good, "--duration", "0s"}, "--duration: 0 is out of range"},
		{[]string{good, "--trials", "0"}, "--trials: 0 is out of range"},
		{[]string{good, "--bogus"}, "unknown flag: --bogus"},
		{[]string{filepath.Join(dir, "missing.yaml")}, "no such file"},
		{[]string{bad}, "bad.yaml:2"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), &stdout, &stderr, append([]string{"run", "--out", filepath.Join(dir, "runs")}, c.args...))
		if code != ExitUsage || !strings.Contains(stderr.String(), c.want) || stdout.Len() > 0 {
			t.Errorf("run %v: exit %d, stdout %q, stderr %q; want %d, nothing, and %q", c.args, code, stdout.String(), stderr.String(), ExitUsage, c.want)
		}
		all.WriteString("== run " + strings.Join(c.args, " ") + "\n" + stderr.String())
	}
	golden.Check(t, "testdata/run-errors.golden", []byte(strings.ReplaceAll(all.String(), dir, "$TMP")))
	if _, err := os.Stat(filepath.Join(dir, "runs")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a bad invocation wrote %s", filepath.Join(dir, "runs"))
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		100 * time.Millisecond: "100ms", time.Hour: "1h", 10 * time.Minute: "10m",
		70 * time.Minute: "1h10m", 90 * time.Second: "1m30s", 5 * time.Second: "5s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestRunUnwritableOut: an --out that cannot be written fails with exit 2
// before any server starts (the scenario's server would leave a marker).
func TestRunUnwritableOut(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "server-started")
	sc := writeScenario(t, dir, "marker", fmt.Sprintf(`name: marker
servers:
  - name: touch
    command: [touch, %q]
requests:
  - path: /
load:
  concurrency: [1]
  duration: 200ms
  warmup: 0s
  trials: 1
`, marker))
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(file, "runs")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), &stdout, &stderr, []string{"run", sc, "--out", out})
	if code != ExitUsage || !strings.Contains(stderr.String(), out) || !strings.Contains(stderr.String(), "nothing was measured") {
		t.Errorf("exit %d, stderr %q: want %d naming %s", code, stderr.String(), ExitUsage, out)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Error("the server was started although the output directory was unwritable")
	}
}

// TestRunWriteFailsAfterMeasuring: the output directory passes the check
// but has no room for the run (a full 64 KiB tmpfs the test mounts when
// it may): the run is measured, saved whole under the fallback directory,
// the path is printed, and the exit code is 3.
func TestRunWriteFailsAfterMeasuring(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	fs := filepath.Join(dir, "tiny")
	if err := os.Mkdir(fs, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", fs).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); bench/report's TestSaveRunFallsBack covers the fallback", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", fs).Run() })
	fill, err := os.Create(filepath.Join(fs, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for { // every block taken; an empty file (the check's probe) still fits
		if _, err := fill.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	fill.Close()
	sc := writeScenario(t, dir, "one", "name: one\nservers:\n  - model: single\nrequests:\n  - path: /\nload:\n  concurrency: [1]\n  duration: 200ms\n  warmup: 0s\n  trials: 1\n")
	cmd, _, stderr := clusterbench(t, dir, "run", sc, "--out", filepath.Join(fs, "runs"), "--quiet")
	code := exitCodeOf(t, cmd.Run()) // the binary's TMPDIR is this test's
	fallback := report.FallbackDir()
	if code != ExitMeasurement || !strings.Contains(stderr.String(), "saved to "+fallback) {
		t.Fatalf("exit %d, stderr %q: want %d and the fallback %s named", code, stderr.String(), ExitMeasurement, fallback)
	}
	dirs := runDirs(t, fallback)
	if len(dirs) != 1 {
		t.Fatalf("fallback holds %v, want one run", dirs)
	}
	run, err := report.ReadRun(dirs[0])
	if err != nil || len(run.Trials) != 1 || run.Trials[0].Requests == 0 {
		t.Errorf("fallback run %v: %v; want the measured trial", dirs[0], err)
	}
}
