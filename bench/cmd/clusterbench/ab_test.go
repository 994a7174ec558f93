package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/ab"
)

// gateScenario is a short closed-loop scenario for the end-to-end tests.
const gateScenario = `name: gate-test
servers:
  - model: single
requests:
  - path: /
load:
  concurrency: 2
  duration: 200ms
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
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
// sides passes (0), a head that burns 2ms of CPU per request fails (1), a
// server that cannot start is a failed measurement (3), bad flags are a
// usage error (2).
func TestABExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, starts 44 real servers and applies load for ~15s; skipped with -short")
	}
	exe := buildClusterbench(t)
	serve := "EXE serve --model single --addr {addr}"
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"A/A passes", []string{"--base", serve, "--head", serve, "--metrics", "cpu"}, ExitOK,
			[]string{"n=6+6", "server CPU/req"}},
		{"large burn regresses", []string{"--base", serve, "--head", serve + " --burn 2ms", "--metrics", "cpu,throughput"}, ExitRegression,
			[]string{"FAIL: performance regressed", "REGRESSION"}},
		{"a confirmed regression", []string{"--base", serve, "--head", serve + " --burn 2ms", "--metrics", "cpu", "--confirm", "--trials", "5"}, ExitRegression,
			[]string{"confirming 1 flagged metric(s) with 5 fresh pairs", "confirmation of ab gate-test", "initial gate: FAIL"}},
		{"server cannot start", []string{"--base", serve, "--head", "EXE serve --model nosuch --addr {addr}"}, ExitMeasurement,
			[]string{"the head server did not start", "nosuch"}},
		{"missing binary", []string{"--base", "/nonexistent/clusterbench serve", "--head", serve}, ExitMeasurement,
			[]string{"the base server did not start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := gateAB(t, exe, tt.args...)
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
