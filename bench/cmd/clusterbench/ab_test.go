package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/bench/ab"
	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/metrics"
)

// gateScenario is a short closed-loop scenario for the end-to-end tests.
const gateScenario = `name: gate-test
servers:
  - model: single
requests:
  - path: /
load:
  concurrency: 2
  duration: 100ms
  warmup: 0s
  trials: 6
  timeout: 2s
pin: off
`

// buildClusterbench builds this command without the race detector (the
// build cache makes it quick after `make build`): ab and its servers then
// run at normal speed even when the tests run under -race.
func buildClusterbench(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "clusterbench")
	out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// gateAB runs exe (the test binary, see TestMain, when "") as
// `clusterbench ab` with EXE in args replaced by exe, and returns its exit
// code and output. Everything it starts dies with it (Pdeathsig).
func gateAB(t *testing.T, exe string, args ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	sc := filepath.Join(dir, "gate.yaml")
	if err := os.WriteFile(sc, []byte(gateScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			t.Fatal(err)
		}
	}
	full := []string{"ab", sc, "--quiet", "--annotate=false"}
	for _, a := range args {
		full = append(full, strings.ReplaceAll(a, "EXE", exe))
	}
	cmd := exec.Command(exe, full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envBeMain+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = testChildAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var err error
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("ab did not finish in 2 minutes:\n%s", out.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// TestABExitCodes runs real servers on loopback: the same server on both
// sides passes (0), a head that burns 2ms of CPU per request fails (1),
// too few trials are inconclusive, which fails only under --strict (3), a
// server that cannot start is a failed measurement (3); and Ctrl-C leaves
// no server behind. Bad flags are a usage error (2): TestABUsage.
func TestABExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, starts about 60 real servers and applies load for ~8s; skipped with -short")
	}
	exe := buildClusterbench(t)
	t.Run("SIGINT reaps every server", func(t *testing.T) { testABInterrupt(t, exe) })
	serve := "EXE serve --model single --addr {addr}"
	tests := []struct {
		name string
		args []string
		code int
		want []string
		// hlog: the tags --histograms must write (nil: not asked)
		hlog []string
	}{
		{"A/A passes", []string{"--base", serve, "--head", serve, "--metrics", "cpu"}, ExitOK,
			[]string{"n=6+6", "server CPU/req"}, nil},
		{"large burn regresses", []string{"--base", serve, "--head", serve + " --burn 2ms", "--metrics", "cpu,throughput"}, ExitRegression,
			[]string{"FAIL: performance regressed", "REGRESSION"}, nil},
		{"a confirmed regression", []string{"--base", serve, "--head", serve + " --burn 2ms", "--metrics", "cpu", "--confirm", "--trials", "5"}, ExitRegression,
			[]string{"confirming 1 flagged metric(s) with 5 fresh pairs", "confirmation of ab gate-test", "initial gate: FAIL"},
			[]string{"base", "head", "base-confirm", "head-confirm"}},
		{"too few trials is inconclusive", []string{"--base", serve, "--head", serve, "--metrics", "cpu", "--trials", "3"}, ExitOK,
			[]string{"INCONCLUSIVE", "too few samples", "n=3+3"}, nil},
		{"inconclusive fails under --strict", []string{"--base", serve, "--head", serve, "--metrics", "cpu", "--trials", "3", "--strict"}, ExitMeasurement,
			[]string{"INCONCLUSIVE", "inconclusive (--strict)"}, nil},
		{"server cannot start", []string{"--base", serve, "--head", "EXE serve --model nosuch --addr {addr}"}, ExitMeasurement,
			[]string{"the head server did not start", "nosuch"}, nil},
		{"missing binary", []string{"--base", "/nonexistent/clusterbench serve", "--head", serve}, ExitMeasurement,
			[]string{"the base server did not start"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hlogFile := filepath.Join(t.TempDir(), "ab.hlog")
			if tt.hlog != nil {
				tt.args = append(tt.args, "--histograms", hlogFile)
			}
			code, out := gateAB(t, exe, tt.args...)
			if tt.hlog != nil {
				checkABHistograms(t, hlogFile, tt.hlog)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, out)
			}
			for _, s := range tt.want {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestABUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--head", "x serve"}, // no --base
		{"--base", "x serve", "--head", "x serve", "--alpha", "2"},        // alpha out of range
		{"--base", "x serve", "--head", "x serve", "--threshold", "lots"}, // not a percentage
		{"--base", "x 'serve", "--head", "x serve"},                       // unterminated quote
		{"--base", "x serve | tee", "--head", "x serve"},                  // shell syntax
		{"--base", "x serve", "--head", "x serve", "--trials", "-1"},
		{"--base", "x serve", "--head", "x serve", "--server-cpus", "0", "--client-cpus", "0"},
		{"--base", "x serve", "--head", "x serve", "--no-pin", "--server-cpus", "0"},
		{"--base", "x serve", "--head", "x serve", "--rounds", "1000"},
		{"--base", "x serve", "--head", "x serve", "--trials", "101"},
		{"--base", "x serve", "--head", "x serve", "--rounds", "3"}, // 33ms slices of the 100ms trials
	} {
		code, out := gateAB(t, "", args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, code, ExitUsage, out)
		}
	}
	// A scenario that does not exist is a usage error too.
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "ab", "no-such.yaml", "--base", "x", "--head", "y")
	cmd.Env = append(os.Environ(), envBeMain+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitUsage {
		t.Errorf("missing scenario: %v\n%s", err, out)
	}
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		`a b  c`:                 {"a", "b", "c"},
		`./x serve --burn 10us`:  {"./x", "serve", "--burn", "10us"},
		`'a b' "c d" e\ f`:       {"a b", "c d", "e f"},
		`x "say \"hi\"" ''`:      {"x", `say "hi"`, ""},
		`env-free --flag=a,b`:    {"env-free", "--flag=a,b"},
		"tab\tsep\nnewline":      {"tab", "sep", "newline"},
		`x --addr={addr} {port}`: {"x", "--addr={addr}", "{port}"},
	} {
		got, err := ab.SplitCommand(in)
		if err != nil || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", `a 'b`, `a "b`, `a\`, "a | b", "a > f", "a; b", "$(x)", "a && b"} {
		if _, err := ab.SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q) accepted", bad)
		}
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{`a b`, `'a b' c`, `"x\"y"`, `a\ b`, `bin/clusterbench serve --addr {addr}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := ab.SplitCommand(s)
		if err == nil && len(words) == 0 {
			t.Errorf("%q: no words and no error", s)
		}
	})
}

func TestServerArgv(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"bin/clusterbench", "serve"}, "bin/clusterbench serve --addr 127.0.0.1:4321"},
		{[]string{"bin/clusterbench", "serve", "--addr", "x"}, "bin/clusterbench serve --addr x"},
		{[]string{"srv", "--listen={host}:{port}"}, "srv --listen=127.0.0.1:4321"},
		{[]string{"node", "server.js"}, "node server.js"}, // PORT/ADDR in the environment only
		{[]string{"x", "{addr}"}, "x 127.0.0.1:4321"},
	} {
		if got := strings.Join(ab.ServerArgv(c.in, "127.0.0.1:4321"), " "); got != c.want {
			t.Errorf("ServerArgv(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// testABInterrupt sends SIGINT to `ab` while it measures and checks that
// it exits 3 and that every server it started, found by a token in their
// environment (they inherit ab's), is gone when it has exited.
func testABInterrupt(t *testing.T, exe string) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "gate.yaml")
	if err := os.WriteFile(sc, []byte(gateScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	token := fmt.Sprintf("CLUSTERBENCH_AB_TEST_TOKEN=%d-%d", os.Getpid(), time.Now().UnixNano())
	serve := exe + " serve --model single"
	cmd := exec.Command(exe, "ab", sc, "--annotate=false", "--base", serve, "--head", serve, "--duration", "20s")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), token)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = testChildAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read progress until every server has started, then once more in
	// the background so that ab never blocks on a full pipe.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var log strings.Builder
	deadline := time.After(time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("ab ended before its servers started:\n%s%s", log.String(), out.String())
			}
			log.WriteString(l + "\n")
			if strings.Contains(l, "started 12 servers") {
				break wait
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("servers not started after a minute:\n%s", log.String())
		}
	}
	go func() {
		for l := range lines {
			_ = l
		}
	}()
	servers := procsWithEnv(t, token, cmd.Process.Pid)
	if len(servers) != 12 {
		t.Errorf("found %d server processes by their environment, want 12 (6 pairs)", len(servers))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("ab did not end within a minute of SIGINT:\n%s", log.String())
	}
	if code := exitCodeOf(t, err); code != ExitMeasurement {
		t.Errorf("exit %d after SIGINT, want %d\n%s", code, ExitMeasurement, out.String())
	}
	if left := procsWithEnv(t, token, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("server processes %v still alive after ab exited", left)
	}
	assertGone(t, servers)
}

// procsWithEnv lists the live processes (zombies left out) other than
// except whose environment holds the entry kv.
func procsWithEnv(t *testing.T, kv string, except int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == except {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !slices.Contains(strings.Split(string(env), "\x00"), kv) {
			continue
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if ps, err := metrics.ParseProcStat(st); err == nil && ps.State == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// checkABHistograms reads ab's --histograms file with hdrhistogram-go's
// own log reader: each arm has a histogram per trial, none empty.
func checkABHistograms(t *testing.T, path string, arms []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("--histograms: %v", err)
	}
	defer f.Close()
	r := hdrhistogram.NewHistogramLogReader(f)
	perArm := map[string]int{}
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		server, level, trial, err := hlog.ParseTag(h.Tag())
		if err != nil || level != 2 || trial < 1 {
			t.Errorf("tag %q: %v", h.Tag(), err)
		}
		if h.TotalCount() == 0 {
			t.Errorf("%s: an empty histogram", h.Tag())
		}
		perArm[server]++
	}
	for _, a := range arms {
		if perArm[a] < 5 {
			t.Errorf("%s has %d trial histograms in %s, want ≥ 5 (all: %v)", a, perArm[a], path, perArm)
		}
	}
}
