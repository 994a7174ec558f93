//go:build linux

package calc

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/servers/workload"
)

// testTimeout bounds every test that talks to worker processes; a loaded
// 2-core machine under -race needs room.
const testTimeout = 60 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// TestExecutorsValues checks the values themselves, with known answers
// written out rather than recomputed, on every executor.
func TestExecutorsValues(t *testing.T) {
	tasks := []Task{
		{workload.Fibonacci, 30}, {workload.Factorial, 25}, {workload.Sum, 1_000_000},
		{workload.Primes, 1_000_000}, {workload.Fibonacci, 0}, {workload.Factorial, 0},
	}
	want := []string{"832040", "15511210043330985984000000", "500000500000", "78498", "0", "1"}
	pp, err := NewProcessPool(ProcessConfig{Workers: 2, Inflight: 3, Command: selfCommand()})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	for name, ex := range map[string]Executor{"inline": Inline{}, "goroutine": GoroutinePool{N: 2}, "process": pp} {
		out := make([]Result, len(tasks))
		if _, err := ex.Run(testCtx(t), tasks, out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, r := range out {
			if !r.Done || r.Err != "" || r.Value != want[i] {
				t.Errorf("%s: task %d (%s %d) = %+v, want %s", name, i, tasks[i].Kind, tasks[i].N, r, want[i])
			}
		}
	}
	// A task out of range comes back as an error result, not a crash.
	out := make([]Result, 1)
	crashes, err := pp.Run(testCtx(t), []Task{{workload.Fibonacci, 99}}, out)
	if err != nil || len(crashes) != 0 {
		t.Fatalf("out-of-range task: err %v, crashes %v", err, crashes)
	}
	if !strings.Contains(out[0].Err, "out of range") {
		t.Errorf("out-of-range task: result %+v, want an error naming the range", out[0])
	}
}

// checkExactlyOnce fails unless every task has exactly its right answer.
func checkExactlyOnce(t *testing.T, tasks []Task, out []Result) {
	t.Helper()
	for i, r := range out {
		want, _ := workload.Compute(tasks[i].Kind, tasks[i].N)
		if !r.Done || r.Value != want {
			t.Fatalf("task %d: %+v, want %q", i, r, want)
		}
	}
}

func TestProcessPoolWorkerCrashMidBatch(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "crashed")
	pp, err := NewProcessPool(ProcessConfig{Workers: 2, Inflight: 16, Command: selfCommand(), Env: []string{envCrashOnce + "=" + flag}})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	before := pp.Pids()
	tasks := make([]Task, 2000)
	for i := range tasks {
		tasks[i] = Task{workload.Sum, int64(i)}
	}
	out := make([]Result, len(tasks))
	crashes, err := pp.Run(testCtx(t), tasks, out)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, tasks, out)
	if len(crashes) != 1 {
		t.Fatalf("crashes = %+v, want exactly one", crashes)
	}
	c := crashes[0]
	if !c.Restarted || c.NewPid == 0 || c.Requeued < 1 || !strings.Contains(c.Reason, "exit status 3") {
		t.Errorf("crash = %+v, want restarted, ≥ 1 re-queued task, exit status 3", c)
	}
	if c.Pid != before[c.Worker] {
		t.Errorf("crash names pid %d, slot %d ran %d", c.Pid, c.Worker, before[c.Worker])
	}
	assertGone(t, c.Pid)
	after := pp.Pids()
	if after[c.Worker] != c.NewPid {
		t.Errorf("slot %d runs pid %d after the restart, crash says %d", c.Worker, after[c.Worker], c.NewPid)
	}
	// The pool keeps working after the recovery.
	clear(out)
	if _, err := pp.Run(testCtx(t), tasks, out); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, tasks, out)
	if err := pp.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range after {
		assertGone(t, pid)
	}
}

func TestProcessPoolProbe(t *testing.T) {
	pp, err := NewProcessPool(ProcessConfig{Workers: 2, Inflight: 4, KillAfter: 5, Command: selfCommand()})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	pids := pp.Pids()
	d, err := pp.Probe(testCtx(t), 50)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Errorf("probe of 50 no-op tasks took %v, want > 0", d)
	}
	// The kill-after hook is off for probes: the same workers still run.
	if got := pp.Pids(); got[0] != pids[0] || got[1] != pids[1] {
		t.Errorf("pids %v after the probe, were %v: a probe killed a worker", got, pids)
	}
}

func TestProcessPoolGarbageFromWorker(t *testing.T) {
	pp, err := NewProcessPool(ProcessConfig{Workers: 1, Inflight: 4, MaxRestarts: 1, Command: selfCommand(), Env: []string{envGarbage + "=1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	tasks := []Task{{workload.Sum, 1}, {workload.Sum, 2}}
	crashes, err := pp.Run(testCtx(t), tasks, make([]Result, 2))
	if err == nil || !strings.Contains(err.Error(), "left undone") {
		t.Fatalf("err = %v, want the batch to fail with tasks left undone", err)
	}
	if len(crashes) != 2 {
		t.Fatalf("crashes = %+v, want 2 (one restart allowed)", crashes)
	}
	for _, c := range crashes {
		if !strings.Contains(c.Reason, "malformed frame") {
			t.Errorf("crash reason %q does not name the malformed frame", c.Reason)
		}
	}
	if !strings.Contains(crashes[1].Reason, "restart budget spent") {
		t.Errorf("last crash %q does not say the budget is spent", crashes[1].Reason)
	}
	if _, err := pp.Run(testCtx(t), tasks, make([]Result, 2)); err == nil {
		t.Error("a pool that lost every worker accepted another batch")
	}
}

func TestProcessPoolCancel(t *testing.T) {
	pp, err := NewProcessPool(ProcessConfig{Workers: 2, Inflight: 2, Command: selfCommand()})
	if err != nil {
		t.Fatal(err)
	}
	pids := pp.Pids()
	tasks := make([]Task, 100_000)
	for i := range tasks {
		tasks[i] = Task{workload.Fibonacci, 20}
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	out := make([]Result, len(tasks))
	// Cancel while the batch (minutes of work) runs; when exactly does not
	// matter, every moment must end the same way.
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = pp.Run(ctx, tasks, out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if err := pp.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		assertGone(t, pid)
	}
}

// TestWorkersDieWithKilledMaster SIGKILLs a master process and checks its
// workers follow it (Pdeathsig, EOF of the task pipe).
func TestWorkersDieWithKilledMaster(t *testing.T) {
	cmd := exec.CommandContext(testCtx(t), os.Args[0])
	cmd.Env = append(os.Environ(), envMaster+"=2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var pids []int
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
		pid, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("master said %q", sc.Text())
		}
		pids = append(pids, pid)
	}
	if len(pids) != 2 {
		t.Fatalf("master named %d workers, want 2", len(pids))
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for _, pid := range pids {
		assertGone(t, pid)
	}
}

// assertGone waits (bounded) until pid no longer runs: no such process, or
// a zombie its new parent has yet to reap.
func assertGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker pid %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond) // polling a process table: no readiness signal exists
	}
}

func TestProcessPoolCommandThatIsNoWorker(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"/bin/sleep", "30"}, "no hello within"},
		{[]string{"/bin/true"}, "worker did not start"},
		{[]string{"/nonexistent/clusterbench"}, "no such file"},
	}
	for _, tt := range tests {
		start := time.Now()
		p, err := NewProcessPool(ProcessConfig{Workers: 2, Command: tt.argv, StartTimeout: 300 * time.Millisecond})
		if err == nil {
			p.Close()
			t.Fatalf("%v: a pool of non-workers started", tt.argv)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %q, want it to contain %q", tt.argv, err, tt.want)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%v: took %s to fail", tt.argv, d)
		}
	}
}
