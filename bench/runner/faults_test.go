//go:build linux

package runner

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/faults"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// pidFileEnv names a file the master child writes its pid to.
const pidFileEnv = "RUNNER_TEST_PID_FILE"

// hupDiesEnv set: the master child does not handle SIGHUP (and dies of it).
const hupDiesEnv = "RUNNER_TEST_HUP_DIES"

// master is a small preforking server: n worker children share its
// listener, a worker that dies is started again in its slot, SIGTERM
// ends the workers and then the master.
func master(addr string, n int) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if path := os.Getenv(pidFileEnv); path != "" {
		_ = os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	var mu sync.Mutex
	stopping := false
	procs := make([]*exec.Cmd, n)
	exited := make(chan int, n)
	start := func(slot int) {
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), childEnv+"=worker", "WORKER_ID="+strconv.Itoa(slot))
		cmd.ExtraFiles = []*os.File{f}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		procs[slot] = cmd
		go func() { _ = cmd.Wait(); exited <- slot }()
	}
	for i := range n {
		start(i)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	if os.Getenv(hupDiesEnv) == "" {
		signal.Notify(sig, syscall.SIGHUP) // else Go's default: SIGHUP ends the process
	}
	alive := n
	for alive > 0 {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				continue
			}
			mu.Lock()
			stopping = true
			mu.Unlock()
			for _, p := range procs {
				_ = p.Process.Signal(syscall.SIGTERM)
			}
		case slot := <-exited:
			mu.Lock()
			again := !stopping
			mu.Unlock()
			if again {
				start(slot)
			} else {
				alive--
			}
		}
	}
	return 0
}

// worker serves the contract on the listener inherited as fd 3 until
// SIGTERM.
func worker() int {
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id, pid := os.Getenv("WORKER_ID"), strconv.Itoa(os.Getpid())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker-Id", id)
		w.Header().Set("X-Worker-Pid", pid)
		_, _ = w.Write([]byte("hello\n"))
	}), ReadHeaderTimeout: 5 * time.Second}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() { <-sig; _ = srv.Close() }()
	_ = srv.Serve(ln)
	return 0
}

func faultScenario(t *testing.T, env map[string]string, fs ...scenario.Fault) *scenario.Scenario {
	env[childEnv] = "master"
	return &scenario.Scenario{
		Name:     "faults-test",
		Servers:  []scenario.Server{{Name: "master", Command: childArgv(t), Env: env}},
		Requests: []scenario.Request{{Method: "GET", Path: "/", Weight: 1}},
		Load: scenario.Load{
			Mode: scenario.Open, Levels: []int{200}, Duration: time.Second,
			Warmup: 100 * time.Millisecond, Trials: 2, KeepAlive: true, Timeout: 2 * time.Second,
		},
		Faults: fs,
	}
}

// TestFaultsKillThenTerm: in each trial a worker is killed and replaced,
// then the master is drained by SIGTERM, which ends the trial; the server
// is started again for the second trial, and nothing is left at the end.
func TestFaultsKillThenTerm(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	sc := faultScenario(t, map[string]string{pidFileEnv: pidFile},
		scenario.Fault{At: 300 * time.Millisecond, Action: scenario.FaultKill, Pick: scenario.PickBusiest},
		scenario.Fault{At: 700 * time.Millisecond, Action: scenario.FaultSignal, Signal: "TERM"},
	)
	// Every process of every server started, seen while the run goes on:
	// each master (from the pid file it writes) and each of its workers,
	// the killed one, its replacement and those alive at the TERM.
	tree := map[int]map[int]bool{} // master pid → its workers' pids
	stop, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				continue
			}
			if tree[pid] == nil {
				tree[pid] = map[int]bool{}
			}
			if _, ws, err := faults.Workers(pid); err == nil {
				for _, w := range ws {
					tree[pid][w.Pid] = true
				}
			}
		}
	}()
	var progress strings.Builder
	out, err := (&Runner{Progress: &progress}).Run(context.Background(), sc)
	close(stop)
	<-watched
	if err != nil {
		t.Fatal(err)
	}
	if out.Err() != nil {
		t.Fatalf("run failed: %v\n%s", out.Err(), progress.String())
	}
	run := out.Run
	if len(run.Trials) != 2 || len(run.Faults) != 2 || len(run.Load.Faults) != 2 {
		t.Fatalf("%d trials, %d fault summaries, %d faults recorded; want 2, 2, 2\n%s", len(run.Trials), len(run.Faults), len(run.Load.Faults), progress.String())
	}
	var masters []int
	for _, tr := range run.Trials {
		if tr.Timeline == nil || len(tr.Timeline.Buckets) < 5 || len(tr.Faults) != 2 || tr.Cut {
			t.Fatalf("trial %d: timeline %v, %d faults, cut %v; want a timeline, 2 faults, not cut", tr.Trial, tr.Timeline != nil, len(tr.Faults), tr.Cut)
		}
		kill, term := tr.Faults[0], tr.Faults[1]
		if !kill.Applied || kill.RespawnMs == nil || len(kill.WorkersBefore) != 2 || kill.Pid == 0 {
			t.Errorf("trial %d kill %+v: want applied to one of 2 workers, respawned", tr.Trial, kill)
		}
		if !term.Applied || term.ExitMs == nil {
			t.Errorf("trial %d TERM %+v: want applied, the server exited", tr.Trial, term)
		}
		if tr.DurationS >= 1 {
			t.Errorf("trial %d lasted %.2fs: want it ended when the drained server exited (before its 1s)", tr.Trial, tr.DurationS)
		}
		masters = append(masters, term.Pid)
	}
	if masters[0] == masters[1] {
		t.Errorf("both trials drained master %d: want the server started again", masters[0])
	}
	// Nothing is left at the end: neither master drained by TERM nor any
	// worker it had before (the events' own list included), nor the
	// server started for the warm-up.
	for _, tr := range run.Trials {
		term := tr.Faults[1]
		ws := tree[term.Pid]
		if ws == nil {
			ws = map[int]bool{}
			tree[term.Pid] = ws
		}
		if len(ws) < 2 {
			t.Errorf("trial %d: saw %d workers of master %d; want at least its 2 (the tree was not watched)", tr.Trial, len(ws), term.Pid)
		}
		for _, pid := range term.WorkersBefore {
			ws[pid] = true
		}
	}
	for master, ws := range tree {
		if err := syscall.Kill(master, 0); err != syscall.ESRCH {
			t.Errorf("master %d still exists after the run (kill -0: %v)", master, err)
		}
		for pid := range ws {
			if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
				t.Errorf("worker %d of master %d still exists after the run (kill -0: %v)", pid, master, err)
			}
		}
	}
	if !strings.Contains(progress.String(), "kill -9 worker (busiest) at") {
		t.Errorf("progress has no fault line:\n%s", progress.String())
	}
}

// TestFaultsInterruptedDuringStall: a run interrupted while a worker is
// stopped (SIGSTOP) leaves no process behind.
func TestFaultsInterruptedDuringStall(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	sc := faultScenario(t, map[string]string{pidFileEnv: pidFile},
		scenario.Fault{At: 200 * time.Millisecond, Action: scenario.FaultStall, Pick: scenario.PickRandom, For: time.Minute})
	sc.Load.Duration = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var tree []metrics.ProcStat
	watched := make(chan struct{})
	go func() { // interrupts the run once a worker is stopped
		defer close(watched)
		defer cancel()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			b, err := os.ReadFile(pidFile)
			if err != nil {
				continue
			}
			pid, _ := strconv.Atoi(string(b))
			_, ws, err := faults.Workers(pid)
			if err != nil {
				continue
			}
			for _, w := range ws {
				if w.State == 'T' {
					tree = append(ws, metrics.ProcStat{Pid: pid})
					return
				}
			}
		}
	}()
	out, err := (&Runner{}).Run(ctx, sc)
	<-watched
	if err != nil {
		t.Fatal(err)
	}
	if tree == nil {
		t.Fatal("no worker was seen stopped")
	}
	if !out.Interrupted || len(out.Failed) != 0 {
		t.Errorf("interrupted %v, failed %v: want interrupted, the server stopped cleanly", out.Interrupted, out.Failed)
	}
	for _, p := range tree {
		if err := syscall.Kill(p.Pid, 0); err == nil {
			t.Errorf("process %d of the server still exists after the run", p.Pid)
		}
	}
}

// TestFaultsServerDiesOnSignal: a master that dies of a signal it does
// not handle (SIGHUP) ends the trial; the run warns and starts the server
// again for the next trial instead of failing it.
func TestFaultsServerDiesOnSignal(t *testing.T) {
	sc := faultScenario(t, map[string]string{hupDiesEnv: "1"}, scenario.Fault{At: 300 * time.Millisecond, Action: scenario.FaultSignal, Signal: "HUP"})
	out, err := (&Runner{}).Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if out.Err() != nil {
		t.Fatalf("run failed: %v", out.Err())
	}
	run := out.Run
	for _, tr := range run.Trials {
		if ev := tr.Faults[0]; !ev.Applied || ev.ExitMs == nil || tr.DurationS >= 1 {
			t.Errorf("trial %d: event %+v, %.2fs; want the server's exit recorded and the trial ended before its 1s", tr.Trial, ev, tr.DurationS)
		}
	}
	var warned int
	for _, w := range run.Warnings {
		if strings.Contains(w, "the server exited after SIGHUP") {
			warned++
		}
	}
	if len(run.Trials) != 2 || warned != 2 {
		t.Errorf("%d trials, warnings %q; want 2 trials, each warned about", len(run.Trials), run.Warnings)
	}
}

// TestFaultsCrashLoop: through the runner, a crash loop kills a worker
// and then each replacement the master starts, 4 kills in all in every
// trial, each of a pid new to the server; the summary and the progress
// lines say so, and nothing is left at the end.
func TestFaultsCrashLoop(t *testing.T) {
	const times = 4
	sc := faultScenario(t, map[string]string{},
		scenario.Fault{At: 200 * time.Millisecond, Action: scenario.FaultCrashLoop, Pick: scenario.PickRandom, Times: times, Every: 50 * time.Millisecond})
	var progress strings.Builder
	out, err := (&Runner{Progress: &progress}).Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if out.Err() != nil {
		t.Fatalf("run failed: %v\n%s", out.Err(), progress.String())
	}
	run := out.Run
	if len(run.Trials) != 2 || len(run.Faults) != 1 {
		t.Fatalf("%d trials, %d fault summaries; want 2, 1\n%s", len(run.Trials), len(run.Faults), progress.String())
	}
	var killed []int
	for _, tr := range run.Trials {
		ev := tr.Faults[0]
		if !ev.Applied || ev.Reason != "" || ev.Kills != times || len(ev.KilledPids) != times || len(ev.RestartMs) != times || ev.GaveUp {
			t.Errorf("trial %d: event %+v, want %d kills, each followed by a restart, no reason", tr.Trial, ev, times)
		}
		for i := 1; i < len(ev.KillsAtMs); i++ {
			if gap := ev.KillsAtMs[i] - ev.KillsAtMs[i-1]; gap < 50 {
				t.Errorf("trial %d: kills at %v ms, want at least 50ms (every:) apart", tr.Trial, ev.KillsAtMs)
			}
		}
		for _, p := range ev.KilledPids {
			if slices.Contains(killed, p) {
				t.Errorf("trial %d: pid %d killed twice (killed: %v)", tr.Trial, p, killed)
			}
			killed = append(killed, p)
		}
		for _, p := range ev.KilledPids[1:] {
			if slices.Contains(ev.WorkersBefore, p) {
				t.Errorf("trial %d: killed %d, a worker from before the loop (%v), want a replacement", tr.Trial, p, ev.WorkersBefore)
			}
		}
	}
	if s := run.Faults[0]; s.Kills.Median != times || s.FirstRestartMs.N != 2 || s.GaveUp != 0 {
		t.Errorf("summary kills %+v, first restart %+v, gave up %d; want %d, 2 trials, 0", s.Kills, s.FirstRestartMs, s.GaveUp, times)
	}
	for _, p := range killed {
		if err := syscall.Kill(p, 0); err != syscall.ESRCH {
			t.Errorf("killed worker %d still exists after the run (kill -0: %v)", p, err)
		}
	}
	if !strings.Contains(progress.String(), "crash loop 4× every 50ms (random) at") || !strings.Contains(progress.String(), "4 kills, restarts") {
		t.Errorf("progress has no crash loop line:\n%s", progress.String())
	}
}
