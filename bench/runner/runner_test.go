//go:build linux

package runner

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

func testScenario(t *testing.T, modes ...string) *scenario.Scenario {
	sc := &scenario.Scenario{
		Name:     "runner-test",
		Requests: []scenario.Request{{Method: "GET", Path: "/", Weight: 1}},
		Load: scenario.Load{
			Mode: scenario.Closed, Levels: []int{1, 4}, Duration: 200 * time.Millisecond,
			Warmup: 50 * time.Millisecond, Trials: 2, KeepAlive: true, Timeout: 5 * time.Second,
		},
	}
	for _, m := range modes {
		sc.Servers = append(sc.Servers, scenario.Server{Name: m, Command: childArgv(t), Env: map[string]string{childEnv: m}})
	}
	return sc
}

func TestRunMeasuresEveryLevelAndTrial(t *testing.T) {
	sc := testScenario(t, "server")
	var progress strings.Builder
	r := &Runner{Args: []string{"clusterbench", "run", "x"}, Progress: &progress}
	out, err := r.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	run := out.Run
	if out.Err() != nil || !run.Complete || run.Incomplete != "" {
		t.Fatalf("run incomplete: %v (%q), warnings %v", out.Err(), run.Incomplete, run.Warnings)
	}
	if len(run.Trials) != 4 || len(run.Summary) != 2 || len(run.Servers) != 1 {
		t.Fatalf("%d trials, %d summaries, %d servers; want 4, 2, 1", len(run.Trials), len(run.Summary), len(run.Servers))
	}
	var cpu float64
	var reqs int64
	for _, tr := range run.Trials {
		if tr.Requests == 0 || tr.SuccessRatio != 1 || len(tr.Workers) != 1 || tr.Workers[0].ID != "0" {
			t.Errorf("trial %+v: want requests, all successful, from worker 0", tr)
		}
		if tr.ServerCPUS < 0 {
			t.Errorf("trial at level %d: server CPU %v", tr.Level, tr.ServerCPUS)
		}
		cpu += tr.ServerCPUS
		reqs += tr.Requests
	}
	// /proc counts CPU in 10ms ticks: a trial of a few hundred requests
	// may read 0; a thousand requests (at ≥ 10µs each) cannot.
	if cpu <= 0 && reqs > 1000 {
		t.Errorf("server CPU %v over %d requests", cpu, reqs)
	}
	if run.Servers[0].Env[0] != childEnv+"=server" || run.Env.Args[1] != "run" || run.Env.GoVersion == "" || run.Env.CPUs < 1 {
		t.Errorf("server record %+v, env %+v", run.Servers[0], run.Env)
	}
	if run.Env.ClientCPUs != "" && os.Getenv("GOMAXPROCS") == "" {
		cpus, err := scenario.ParseCPUList(run.Env.ClientCPUs)
		if err != nil {
			t.Fatal(err)
		}
		if run.Env.GOMAXPROCS != len(cpus) {
			t.Errorf("generator pinned to CPUs %s ran with GOMAXPROCS %d, want %d", run.Env.ClientCPUs, run.Env.GOMAXPROCS, len(cpus))
		}
		if allowed, _ := AllowedCPUs(); runtime.GOMAXPROCS(0) != len(allowed) {
			t.Errorf("GOMAXPROCS %d after the run, want %d again (the CPUs this process may use)", runtime.GOMAXPROCS(0), len(allowed))
		}
	}
	if !strings.Contains(progress.String(), "trial 2/2") {
		t.Errorf("progress does not report trials:\n%s", progress.String())
	}
}

func TestRunGoesOnAfterAFailedServer(t *testing.T) {
	sc := testScenario(t, "exit", "server")
	sc.Load.Levels, sc.Load.Trials = []int{2}, 1
	r := &Runner{StartTimeout: 10 * time.Second}
	out, err := r.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	run := out.Run
	if run.Complete || !strings.Contains(run.Incomplete, "server exit failed") {
		t.Errorf("complete %v, incomplete %q: want the failed server named", run.Complete, run.Incomplete)
	}
	if len(out.Failed) != 1 || !strings.Contains(out.Err().Error(), "cannot open config file") {
		t.Errorf("failures %v: want the exit server's stderr", out.Err())
	}
	if len(run.Trials) != 1 || run.Trials[0].Server != "server" {
		t.Errorf("trials %+v: want the second server measured", run.Trials)
	}
}

func TestRunInterrupted(t *testing.T) {
	sc := testScenario(t, "server", "server-with-stubborn-child")
	sc.Servers[1].Name = "second"
	sc.Load.Duration = time.Minute
	sc.Load.Warmup = 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once the first (one-minute) trial has been running a moment:
	// the server creates hit when it answers its first request.
	hit := filepath.Join(t.TempDir(), "first-hit")
	sc.Servers[0].Env[firstHitEnv] = hit
	go func() {
		defer cancel()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(hit); err == nil {
				time.Sleep(300 * time.Millisecond) // let the trial measure a little: the load, not a readiness guess
				return
			}
		}
	}()
	r := &Runner{StopGrace: time.Second}
	out, err := r.Run(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	run := out.Run
	if !out.Interrupted || run.Complete || run.Incomplete != "interrupted" {
		t.Errorf("interrupted %v, complete %v (%q): want an interrupted, incomplete run", out.Interrupted, run.Complete, run.Incomplete)
	}
	if len(run.Trials) != 1 || run.Trials[0].Requests == 0 || run.Trials[0].DurationS > 30 {
		t.Errorf("trials %+v: want the one cut-short trial, kept", run.Trials)
	}
	if len(run.Servers) != 1 {
		t.Errorf("servers %+v: the second server must not start after the interruption", run.Servers)
	}
	// Stop found no process of the server left (else it would be a failure).
	if len(out.Failed) != 0 {
		t.Errorf("failures after the interruption: %v", out.Err())
	}
}

func TestTrialWarnings(t *testing.T) {
	trials := []results.Trial{
		{Server: "single", Level: 8, Trial: 1, DurationS: 2, ClientCPUUtil: 0.30, ClientWaitS: 1.5, ClientBound: true},
		{Server: "single", Level: 8, Trial: 2, DurationS: 2, ClientCPUUtil: 0.95, ClientBound: true},
		{Server: "single", Level: 8, Trial: 3, DurationS: 2, ClientCPUUtil: 0.20},
		{Server: "pool", Level: 8, Trial: 1, DurationS: 2, ClientCPUUtil: 0.20},
		{Server: "pool", Level: 500, Trial: 1, DurationS: 2, AchievedRate: 410, TargetRate: 500, RateShortfall: true},
		{Server: "pool", Level: 900, Trial: 1, DurationS: 2, Dropped: 4},
		{Server: "pool", Level: 900, Trial: 2, DurationS: 2, Dropped: 3},
	}
	got := TrialWarnings(trials)
	want := []string{ // client-bound trials (single) get none: the report's verdict names them
		"pool at rate 500/s: achieved rate short of the asked one by more than 5% in 1 of 1 trials (lowest 410/s)",
		"pool at rate 900/s: 7 requests not sent: all connections were busy or the generator was behind until they were over 1s late (counted as errors by thresholds)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("TrialWarnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := TrialWarnings(trials[:4]); len(w) != 0 {
		t.Errorf("warnings for trials with nothing to say: %v", w)
	}
}
