package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
)

func TestCalcBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--model", "threads"}, `--model: "threads" is not a model (allowed: inline, goroutine, process)`},
		{[]string{"--workers", "0"}, "--workers: 0 out of range (allowed: 1..256)"},
		{[]string{"--kind", "pi"}, `--kind: "pi" is not a kind (allowed: factorial, sum, primes, fibonacci, mix)`},
		{[]string{"--kind", "fibonacci", "--n", "41"}, "--n: fibonacci: n=41 out of range (allowed: 0..40)"},
		{[]string{"--kind", "mix", "--n", "100"}, "--n: 100 out of range for mix"},
		{[]string{"--tasks", "0"}, "--tasks: 0 out of range"},
		{[]string{"--trials", "0"}, "--trials: 0 out of range"},
		{[]string{"--inflight", "5000"}, "--inflight: 5000 out of range (allowed: 1..1024, or 0 = 64)"},
		{[]string{"--workers", "2,-1"}, "--workers: -1 out of range"},
		{[]string{"--model", "goroutine", "--kill-worker-after", "5"}, "--kill-worker-after needs --model process"},
		{[]string{"--tasks", "10", "--kill-worker-after", "10"}, "--kill-worker-after: 10 must be below --tasks 10"},
		{[]string{"--node", "/nonexistent/worker-calculation.js"}, `--node "/nonexistent/worker-calculation.js"`},
		{[]string{"--node", "calc.go", "--node-bin", "/nonexistent/node"}, `--node-bin "/nonexistent/node"`},
		{[]string{"--n", "x"}, `invalid argument "x" for "--n"`},
		{[]string{"stray"}, `unexpected argument "stray"`},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := Main(context.Background(), &bytes.Buffer{}, &stderr, append([]string{"calc"}, tt.args...))
		if code != ExitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("calc %v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), ExitUsage, tt.want)
		}
	}
}

func TestCalcInProcessJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"calc", "--model", "inline,goroutine", "--workers", "1,2", "--kind", "mix", "--n", "15", "--tasks", "40", "--trials", "2", "--json"}
	if code := Main(context.Background(), &stdout, &stderr, args); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Env  results.Environment
		Calc []results.CalcResult
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	// inline once, goroutine with 1 and with 2 workers.
	if len(got.Calc) != 3 {
		t.Fatalf("%d reports, want 3", len(got.Calc))
	}
	for _, r := range got.Calc {
		if r.Checked != 80 || r.Mismatches != 0 || r.Trials != 2 || r.TasksPerS.Median <= 0 || r.TasksPerS.N != 2 || len(r.TrialTasksPerS) != 2 {
			t.Errorf("%s/%d: checked %d, mismatches %d, trials %d, tasks/s %v", r.Model, r.Workers, r.Checked, r.Mismatches, r.Trials, r.TasksPerS)
		}
	}
	if names := []string{got.Calc[0].Name, got.Calc[1].Name, got.Calc[2].Name}; names[0] != "inline-mix-15" ||
		names[1] != "goroutine1-mix-15" || names[2] != "goroutine2-mix-15" {
		t.Errorf("batch names %q", names)
	}
	if got.Env.CPUs < 1 || got.Env.GoVersion == "" || len(got.Env.Args) != len(args)+1 {
		t.Errorf("env %+v", got.Env)
	}
}

func TestCalcWrongNodeAnswersExit3(t *testing.T) {
	fake, err := filepath.Abs("testdata/calc/wrong-node.sh")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"calc", "--model", "inline", "--kind", "fibonacci", "--n", "10", "--tasks", "4", "--trials", "1",
		"--workers", "1", "--node", fake, "--node-bin", "/bin/sh"}
	code := Main(context.Background(), &stdout, &stderr, args)
	if code != ExitMeasurement || !strings.Contains(stderr.String(), "wrong results") || !strings.Contains(stdout.String(), "WRONG RESULTS") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 3 and the mismatch reported", code, stdout.String(), stderr.String())
	}
}

// calcCommand runs the test binary as clusterbench (envBeMain): `calc`
// then re-executes it as its worker processes, as the real binary does.
func calcCommand(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{"calc"}, args...)...)
	cmd.Env = append(os.Environ(), envBeMain+"=1")
	return cmd
}

func TestCalcBinaryProcessModel(t *testing.T) {
	t.Parallel() // its own calc process and workers
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := calcCommand(ctx, t, "--model", "process", "--workers", "2", "--kind", "fibonacci",
		"--n", "12", "--tasks", "400", "--inflight", "8", "--trials", "2", "--kill-worker-after", "150").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"process k=8", "process2-fibonacci-12: all 800 results right", "signal: killed"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// One worker killed per trial, each named in a note.
	if n := bytes.Count(out, []byte("process2-fibonacci-12: worker ")); n != 2 {
		t.Errorf("%d crash notes, want 2 (one per trial):\n%s", n, out)
	}
	t.Run("node", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("node is not installed: the Node.js original cannot run here")
		}
		script, err := filepath.Abs("../../../servers/node/worker-calculation.js")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(script); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"mix", "factorial"} {
			n := "20"
			if kind == "factorial" {
				n = "3000"
			}
			out, err := calcCommand(ctx, t, "--model", "process", "--workers", "2", "--kind", kind,
				"--n", n, "--tasks", "40", "--trials", "1", "--node", script, "--node-bin", node, "--json").CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", kind, err, out)
			}
			if !bytes.Contains(out, []byte(`"model": "node"`)) {
				t.Errorf("%s: no node report:\n%s", kind, out)
			}
		}
	})
}
