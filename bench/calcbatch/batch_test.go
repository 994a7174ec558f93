package calcbatch

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/servers/calc"
)

// testTimeout bounds every test that talks to worker processes; a loaded
// 2-core machine under -race needs room.
const testTimeout = 60 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// models are the executors this system can run.
func models() []string {
	var ms []string
	for _, m := range calc.Models {
		if calc.Unsupported(m) == nil {
			ms = append(ms, m)
		}
	}
	return ms
}

// measure runs cfg's batch as `clusterbench calc` does: New, Interleave
// over its trials, then Result and Err.
func measure(ctx context.Context, cfg Config) (results.CalcResult, error) {
	b, err := New(ctx, cfg)
	if err != nil {
		return results.CalcResult{}, err
	}
	defer b.Close()
	if err := Interleave(ctx, b.cfg.Trials, b); err != nil {
		return b.Result(), err
	}
	return b.Result(), b.Err()
}

func TestExactEveryKindAndExecutor(t *testing.T) {
	cases := []struct {
		kind  string
		n     int64
		tasks int
	}{
		{"fibonacci", 20, 24},
		{"factorial", 25, 24},   // exceeds 2^64
		{"factorial", 20000, 3}, // 77,338 digits: a frame larger than the read buffer
		{"sum", 100000, 24},
		{"primes", 100000, 24},
		{"mix", 20, 24},
	}
	for _, model := range models() {
		for _, c := range cases {
			t.Run(model+"/"+c.kind+"-"+strconv.FormatInt(c.n, 10), func(t *testing.T) {
				t.Parallel() // independent batches; -parallel bounds how many run at once
				cfg := Config{Model: model, Kind: c.kind, N: c.n, Tasks: c.tasks, Trials: 2, WorkerCommand: selfCommand()}
				if model != calc.ModelInline {
					cfg.Workers = 3
				}
				if model == calc.ModelProcess {
					cfg.Inflight = 2
				}
				r, err := measure(testCtx(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				if r.Checked != int64(2*c.tasks) || r.Mismatches != 0 {
					t.Fatalf("checked %d (want %d), mismatches %d: %s", r.Checked, 2*c.tasks, r.Mismatches, r.FirstMismatch)
				}
				var sum int64
				for _, w := range r.WorkerShares {
					sum += w.Tasks
				}
				if sum != int64(2*c.tasks) {
					t.Errorf("worker shares sum to %d tasks, want %d", sum, 2*c.tasks)
				}
				if len(r.WorkerShares) != cfg.Workers && !(model == calc.ModelInline && len(r.WorkerShares) == 1) {
					t.Errorf("%d worker rows, want %d", len(r.WorkerShares), cfg.Workers)
				}
				if model == calc.ModelProcess && r.IPCUs <= 0 {
					t.Errorf("process model: IPC cost per task %v, want > 0", r.IPCUs)
				}
				if model != calc.ModelProcess && r.IPCUs != 0 {
					t.Errorf("%s model: IPC cost %v, want none", model, r.IPCUs)
				}
				if r.Trials != 2 || len(r.TrialResults) != 2 || len(r.TrialTasksPerS) != 2 || r.TasksPerS.N != 2 {
					t.Errorf("trials %d, trial results %d, trial tasks/s %d, estimate over %d; want 2 each",
						r.Trials, len(r.TrialResults), len(r.TrialTasksPerS), r.TasksPerS.N)
				}
				for i, tr := range r.TrialResults {
					if tr.Trial != i+1 || tr.TasksPerS != r.TrialTasksPerS[i] || tr.TasksPerS <= 0 {
						t.Errorf("trial %d: %+v, trial tasks/s %v", i+1, tr, r.TrialTasksPerS[i])
					}
				}
			})
		}
	}
}

// TestResultEstimates checks that the figures across trials are the one
// estimator's (metrics.Estimate): median of the trials, min and max, and
// a confidence interval from 6 trials on.
func TestResultEstimates(t *testing.T) {
	r, err := measure(testCtx(t), Config{Model: calc.ModelGoroutine, Workers: 2, Kind: "sum", N: 1000, Tasks: 50, Trials: 6})
	if err != nil {
		t.Fatal(err)
	}
	e := r.TasksPerS
	lo, hi := r.TrialTasksPerS[0], r.TrialTasksPerS[0]
	for _, v := range r.TrialTasksPerS {
		lo, hi = min(lo, v), max(hi, v)
	}
	if e.N != 6 || e.Min != lo || e.Max != hi || e.Median < lo || e.Median > hi {
		t.Errorf("tasks/s estimate %+v from trials %v", e, r.TrialTasksPerS)
	}
	if e.Confidence < 0.95 || e.Lo > e.Median || e.Hi < e.Median || e.Lo < lo || e.Hi > hi {
		t.Errorf("6 trials: want a 95%% interval within min..max, got %+v", e)
	}
	if r.Name != "goroutine2-sum-1000" || r.GOMAXPROCS != runtime.GOMAXPROCS(0) {
		t.Errorf("name %q, gomaxprocs %d", r.Name, r.GOMAXPROCS)
	}
}

func TestKillWorkerAfter(t *testing.T) {
	if err := calc.Unsupported(calc.ModelProcess); err != nil {
		t.Skipf("the process model cannot run here: %v", err)
	}
	cfg := Config{Model: calc.ModelProcess, Workers: 2, Inflight: 8, Kind: "fibonacci", N: 15, Tasks: 300, Trials: 2,
		KillWorkerAfter: 100, WorkerCommand: selfCommand()}
	r, err := measure(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mismatches != 0 || r.Checked != 600 {
		t.Fatalf("checked %d, mismatches %d: %s", r.Checked, r.Mismatches, r.FirstMismatch)
	}
	if len(r.Crashes) != 2 {
		t.Fatalf("crashes = %+v, want one per trial", r.Crashes)
	}
	for i, c := range r.Crashes {
		if !c.Restarted || !strings.Contains(c.Reason, "signal: killed") {
			t.Errorf("crash %+v: want a restarted worker killed by a signal", c)
		}
		if r.TrialResults[i].Crashes != 1 {
			t.Errorf("trial %d counts %d crashes, want 1", i+1, r.TrialResults[i].Crashes)
		}
	}
	var pids int
	for _, w := range r.WorkerShares {
		pids += len(w.Pids)
	}
	if pids < 3 {
		t.Errorf("worker rows name %d pids, want ≥ 3 (2 workers + a restart)", pids)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
		want  string
	}{
		{Config{Model: "threads", Kind: "sum"}, "model", `"threads" is not a model`},
		{Config{Model: calc.ModelGoroutine, Workers: MaxWorkers + 1, Kind: "sum"}, "workers", "out of range"},
		{Config{Model: calc.ModelGoroutine, Kind: "pi"}, "kind", `"pi" is not a kind`},
		{Config{Model: calc.ModelGoroutine, Kind: "fibonacci", N: 41}, "n", "out of range"},
		{Config{Model: calc.ModelGoroutine, Kind: KindMix, N: 100}, "n", "out of range for mix"},
		{Config{Model: calc.ModelGoroutine, Kind: "sum", Tasks: -1}, "tasks", "out of range"},
		{Config{Model: calc.ModelGoroutine, Kind: "sum", Trials: MaxTrials + 1}, "trials", "out of range"},
		{Config{Model: calc.ModelGoroutine, Kind: "sum", Inflight: 4}, "inflight", "only the process model"},
		{Config{Model: calc.ModelProcess, Kind: "sum", Inflight: calc.MaxInflight + 1}, "inflight", "out of range"},
		{Config{Model: calc.ModelGoroutine, Kind: "sum", KillWorkerAfter: 5}, "kill-worker-after", "only the process model"},
		{Config{Model: calc.ModelProcess, Kind: "sum", Tasks: 10, KillWorkerAfter: 10}, "kill-worker-after", "must be below --tasks 10"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field || !strings.Contains(ce.Problem, tt.want) {
			t.Errorf("%+v: err %v, want field %s and %q", tt.cfg, err, tt.field, tt.want)
		}
	}
	c := Config{Model: calc.ModelProcess, Workers: 2, Kind: "fibonacci", N: 27}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Tasks != DefaultTasks || c.Trials != DefaultTrials || c.Inflight != calc.DefaultInflight || c.Name != "process2-fibonacci-27" {
		t.Errorf("defaults not filled: %+v", c)
	}
	in := Config{Model: calc.ModelInline, Kind: "sum", N: 3}
	if err := in.Validate(); err != nil || in.Workers != 1 || in.Name != "inline-sum-3" {
		t.Errorf("inline: %v, %+v", err, in)
	}
}

// arm records its trials in a shared log and fails at trial failAt (0 = never).
type arm struct {
	name   string
	log    *[]string
	n      int
	failAt int
}

func (a *arm) Trial(context.Context) error {
	a.n++
	*a.log = append(*a.log, a.name+strconv.Itoa(a.n))
	if a.n == a.failAt {
		return errors.New(a.name + " failed")
	}
	return nil
}

func TestInterleave(t *testing.T) {
	var log []string
	if err := Interleave(context.Background(), 2, &arm{name: "a", log: &log}, &arm{name: "b", log: &log}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, " "); got != "a1 b1 a2 b2" {
		t.Errorf("order %q, want a1 b1 a2 b2", got)
	}
	log = nil
	err := Interleave(context.Background(), 3, &arm{name: "a", log: &log}, &arm{name: "b", log: &log, failAt: 2}, &arm{name: "c", log: &log})
	if err == nil || err.Error() != "b failed" || strings.Join(log, " ") != "a1 b1 c1 a2 b2" {
		t.Errorf("err %v after %q; want b's error, nothing after b2", err, strings.Join(log, " "))
	}
}

// TestLast checks that Last is the latest trial as Result reports it.
func TestLast(t *testing.T) {
	b, err := New(testCtx(t), Config{Model: calc.ModelGoroutine, Workers: 2, Kind: "sum", N: 1000, Tasks: 20, Trials: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := b.Last(); ok {
		t.Error("Last before any trial: ok, want none")
	}
	for i := range 3 {
		if err := b.Trial(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		last, ok := b.Last()
		tr := b.Result().TrialResults
		if !ok || len(tr) != i+1 || last != tr[i] || last.Trial != i+1 {
			t.Errorf("after trial %d: Last %+v (%v), Result's trials %+v", i+1, last, ok, tr)
		}
	}
}
