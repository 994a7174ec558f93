package faults

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// sleeper starts `sleep 60` and returns its pid; cleanup kills and
// reaps it.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// live reports whether pid runs (neither gone nor a zombie).
func live(pid int) bool { st := state(pid); return st != 0 && st != 'Z' && st != 'X' }

// shapedTree makes treeProcs describe a process tree of real processes
// (so that kills and liveness checks act on them) in a shape of the
// test's choosing: shape gets the call's number (from 1) and the pids
// that run, and returns each listed pid's parent. It restores treeProcs
// at cleanup.
func shapedTree(t *testing.T, shape func(call int, running func(pid int) bool) map[int]int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	old := treeProcs
	t.Cleanup(func() { treeProcs = old })
	treeProcs = func(root int) ([]metrics.ProcStat, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		var out []metrics.ProcStat
		for pid, ppid := range shape(n, live) {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if err != nil {
				continue
			}
			st, err := metrics.ParseProcStat(b)
			if err != nil || st.State == 'Z' || st.State == 'X' {
				continue
			}
			st.PPid = ppid
			out = append(out, st)
		}
		return out, nil
	}
}

// TestCrashLoopKillsOnlyChildrenOfItsMaster: a server that wraps its
// master (sh -c, npm start) and has one worker looks, once that worker is
// killed and reaped, like a wrapper whose only worker is the master. The
// loop must not take the master for the replacement and kill it.
func TestCrashLoopKillsOnlyChildrenOfItsMaster(t *testing.T) {
	wrapper, master, worker := sleeper(t).Process.Pid, sleeper(t).Process.Pid, sleeper(t).Process.Pid
	began, done := begin()
	var once sync.Once
	drifted := 0
	shapedTree(t, func(call int, running func(int) bool) map[int]int {
		if running(worker) {
			return map[int]int{wrapper: 1, master: wrapper, worker: master}
		}
		// the worker is gone, no replacement yet: the master seems the
		// wrapper's worker. Two looks at that, then the trial ends.
		if drifted++; drifted >= 2 {
			once.Do(func() { close(done) })
		}
		return map[int]int{wrapper: 1, master: wrapper}
	})
	srv := Server{Pid: wrapper, Exited: func() bool { return !live(wrapper) }}
	ev := Run(context.Background(), []scenario.Fault{{At: 0, Action: scenario.FaultCrashLoop, Pick: scenario.PickRandom, Times: 3}}, srv, Trial{Began: began, Done: done})[0]
	if !live(master) {
		t.Errorf("the master (pid %d) was killed; killed %v", master, ev.KilledPids)
	}
	if ev.Kills != 1 || len(ev.KilledPids) != 1 || ev.KilledPids[0] != worker || len(ev.RestartMs) != 0 {
		t.Errorf("event %+v: want one kill, of the worker %d, no restart", ev, worker)
	}
}

// TestCrashLoopStopsWhenTrialOver: a replacement that the loop sees only
// as the trial ends (or the run is interrupted) is recorded, but not
// killed: no kill after the trial.
func TestCrashLoopStopsWhenTrialOver(t *testing.T) {
	for _, interrupt := range []bool{false, true} {
		master, first, second := sleeper(t).Process.Pid, sleeper(t).Process.Pid, sleeper(t).Process.Pid
		began, done := begin()
		ctx, cancel := context.WithCancel(context.Background())
		var once sync.Once
		shapedTree(t, func(call int, running func(int) bool) map[int]int {
			if running(first) {
				return map[int]int{master: 1, first: master}
			}
			// the replacement appears as the trial ends
			once.Do(func() {
				if interrupt {
					cancel()
				} else {
					close(done)
				}
			})
			return map[int]int{master: 1, second: master}
		})
		srv := Server{Pid: master, Exited: func() bool { return !live(master) }}
		ev := Run(ctx, []scenario.Fault{{At: 0, Action: scenario.FaultCrashLoop, Pick: scenario.PickRandom, Times: 3}}, srv, Trial{Began: began, Done: done})[0]
		if interrupt {
			close(done)
		}
		cancel()
		if !live(second) {
			t.Errorf("interrupted %v: the replacement %d was killed after the trial; killed %v", interrupt, second, ev.KilledPids)
		}
		if ev.Kills != 1 || !ev.Applied || ev.Reason == "" {
			t.Errorf("interrupted %v: event %+v, want 1 kill and why it stopped", interrupt, ev)
		}
	}
}

// TestFaultDuringCrashLoop: a fault due while a crash loop still waits
// for a replacement is not applied (it would kill the loop's worker, or
// give the loop its own replacement), and says why.
func TestFaultDuringCrashLoop(t *testing.T) {
	master, w1, w2 := sleeper(t).Process.Pid, sleeper(t).Process.Pid, sleeper(t).Process.Pid
	first, second := min(w1, w2), max(w1, w2) // pick: busiest takes the lower pid of two idle workers
	began, done := begin()
	var once sync.Once
	shapedTree(t, func(call int, running func(int) bool) map[int]int {
		if running(first) {
			return map[int]int{master: 1, first: master, second: master}
		}
		// no replacement comes; the trial ends once the loop has waited
		// past the kill's time
		if call > 100 {
			once.Do(func() { close(done) })
		}
		return map[int]int{master: 1, second: master}
	})
	srv := Server{Pid: master, Exited: func() bool { return !live(master) }}
	plan := []scenario.Fault{
		{At: 0, Action: scenario.FaultCrashLoop, Pick: scenario.PickBusiest, Times: 3},
		{At: 50 * time.Millisecond, Action: scenario.FaultKill, Pick: scenario.PickRandom},
	}
	evs := Run(context.Background(), plan, srv, Trial{Began: began, Done: done})
	if !live(second) {
		t.Errorf("the kill during the crash loop killed %d", second)
	}
	if evs[1].Applied || !strings.Contains(evs[1].Reason, "crash loop") {
		t.Errorf("kill during the loop: %+v, want not applied, the crash loop named as why", evs[1])
	}
	if evs[0].Kills != 1 || len(evs[0].KilledPids) != 1 || evs[0].KilledPids[0] != first {
		t.Errorf("crash loop %+v, want one kill, of %d", evs[0], first)
	}
}
