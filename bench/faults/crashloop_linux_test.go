package faults

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/servers/spawn"
)

// clusterbench builds the clusterbench binary of this repository into
// a directory of t's.
func clusterbench(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds the clusterbench binary and runs its prefork model")
	}
	bin := filepath.Join(t.TempDir(), "clusterbench")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/clusterbench").CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/clusterbench: %v\n%s", err, out)
	}
	return bin
}

// prefork starts `clusterbench serve --model prefork` with workers
// children as the leader of its own process group and returns the Server
// it is and a channel of its log lines that start with msg=want. Cleanup
// stops it (startGroup: SIGTERM to the group, up to 10s, then SIGKILL),
// checks that nothing of the group is left and waits for its stderr.
func prefork(t *testing.T, workers int, balance, want string) (Server, <-chan string) {
	t.Helper()
	bin := clusterbench(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: this one, after startGroup's stop, waits
	// for the scanner, which ends once every write end has closed.
	var scanned chan struct{}
	t.Cleanup(func() {
		if scanned == nil {
			return
		}
		select {
		case <-scanned:
		case <-time.After(5 * time.Second):
			t.Error("the server's stderr stayed open 5s after its stop")
		}
	})
	argv := []string{bin, "serve", "--model", "prefork", "--addr", "127.0.0.1:0", "--workers", strconv.Itoa(workers), "--balance", balance, "--grace", "1s"}
	srv, c := startGroup(t, spawn.Spec{Argv: argv, Stderr: w}, 10*time.Second)
	_ = w.Close() // the server's group holds the write end now
	lines, listening := make(chan string, 1024), make(chan struct{})
	scanned = make(chan struct{})
	go func() {
		defer close(scanned)
		defer r.Close()
		sc := bufio.NewScanner(r)
		once := sync.Once{}
		for sc.Scan() {
			l := sc.Text()
			if strings.Contains(l, "msg=listening") {
				once.Do(func() { close(listening) })
			}
			if strings.Contains(l, "msg="+want) {
				select {
				case lines <- l:
				default:
				}
			}
		}
	}()
	select {
	case <-listening:
	case <-c.Done():
		t.Fatal("the prefork server exited before it listened")
	case <-time.After(30 * time.Second):
		t.Fatal("the prefork server did not listen within 30s")
	}
	return srv, lines
}

// TestCrashLoopPrefork: a crash loop of 5 on a real prefork server with 2
// children kills the first worker and then each of 4 replacements, each
// a process new to the server, and sees the replacement of its last kill.
// The master's backoff (100, 200, 400, 800 ms after kills 2..5) stays
// within its crash budget (3 unstable exits per child within 30s: 6).
func TestCrashLoopPrefork(t *testing.T) {
	const times = 5
	srv, restarted := prefork(t, 2, "reuseport", "\"child restarted\"")
	_, before, err := Workers(srv.Pid)
	if err != nil || len(before) != 2 {
		t.Fatalf("workers %v (%v), want 2", before, err)
	}
	began, done := begin()
	evsc := make(chan []results.FaultEvent, 1)
	go func() {
		evsc <- Run(context.Background(), []scenario.Fault{{At: 0, Action: scenario.FaultCrashLoop, Pick: scenario.PickRandom, Times: times}}, srv, Trial{Began: began, Done: done})
	}()
	// the trial lasts until the master logged times restarts: the last
	// replacement is there, the loop sees it (at the latest as the trial
	// ends)
	for n := 0; n < times; n++ {
		select {
		case <-restarted:
		case <-time.After(30 * time.Second):
			close(done)
			t.Fatalf("%d restarts logged within 30s, want %d; events %+v", n, times, <-evsc)
		}
	}
	close(done)
	ev := (<-evsc)[0]
	t.Logf("killed %v at %v ms, restarts after %v ms", ev.KilledPids, ev.KillsAtMs, ev.RestartMs)
	if !ev.Applied || ev.Reason != "" || ev.Kills != times || len(ev.KilledPids) != times || len(ev.KillsAtMs) != times {
		t.Fatalf("event %+v: want applied, %d kills, no reason", ev, times)
	}
	if len(ev.RestartMs) != times || ev.RespawnMs == nil || ev.GaveUp || ev.ExitMs != nil {
		t.Errorf("restarts %v, respawn %v, gave up %v, exit %v: want %d restarts, the last one's respawn, not given up, no exit",
			ev.RestartMs, ptr(ev.RespawnMs), ev.GaveUp, ptr(ev.ExitMs), times)
	}
	if !slices.Contains(pids(before), ev.KilledPids[0]) || ev.Pid != ev.KilledPids[0] {
		t.Errorf("first kill pid %d (event pid %d), want one of the workers before %v", ev.KilledPids[0], ev.Pid, pids(before))
	}
	for i, p := range ev.KilledPids[1:] {
		if slices.Contains(pids(before), p) || slices.Contains(ev.KilledPids[:i+1], p) {
			t.Errorf("kill %d: pid %d is not a new replacement (workers before %v, killed %v)", i+2, p, pids(before), ev.KilledPids)
		}
	}
	for i := 1; i < times; i++ {
		if ev.KillsAtMs[i] < ev.KillsAtMs[i-1] || ev.RestartMs[i-1] < 0 {
			t.Errorf("kill times %v, restarts %v: want in order, non-negative", ev.KillsAtMs, ev.RestartMs)
		}
	}
	for _, p := range ev.KilledPids {
		if st := state(p); st != 0 && st != 'Z' {
			t.Errorf("killed worker %d still runs (state %c)", p, st)
		}
	}
	_, after, err := Workers(srv.Pid)
	if err != nil || len(after) != 2 {
		t.Fatalf("workers after the loop %v (%v), want 2", pids(after), err)
	}
	for _, w := range after {
		if slices.Contains(ev.KilledPids, w.Pid) {
			t.Errorf("worker %d after the loop was killed by it", w.Pid)
		}
	}
}

// TestCrashLoopPreforkGivesUp: with one child, prefork's crash budget is
// 3 unstable exits within 30s; a crash loop of 8 trips it, the master
// exits instead of restarting, and the loop records that it gave up after
// fewer kills than asked, with the server's exit, and ends the trial.
func TestCrashLoopPreforkGivesUp(t *testing.T) {
	const times = 8
	srv, _ := prefork(t, 1, "shared", "\"crash loop\"")
	began, done := begin()
	defer close(done)
	ended := make(chan struct{})
	evsc := make(chan []results.FaultEvent, 1)
	go func() {
		evsc <- Run(context.Background(), []scenario.Fault{{At: 0, Action: scenario.FaultCrashLoop, Pick: scenario.PickBusiest, Times: times}}, srv,
			Trial{Began: began, Done: done, End: func() { close(ended) }})
	}()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the trial was not ended after the master gave up")
	}
	ev := (<-evsc)[0]
	t.Logf("killed %v, restarts after %v ms, exit %v ms after the last kill: %s", ev.KilledPids, ev.RestartMs, ptr(ev.ExitMs), ev.Reason)
	// the first kill is of a child up for less or more than MinUptime
	// (1s): the budget trips at the 4th or 5th kill
	if !ev.Applied || !ev.GaveUp || ev.ExitMs == nil || ev.Kills < 4 || ev.Kills > 5 || !strings.Contains(ev.Reason, "exited") {
		t.Errorf("event %+v: want applied, gave up after 4 or 5 kills, an exit time, the reason", ev)
	}
	if len(ev.RestartMs) != ev.Kills-1 {
		t.Errorf("restarts %v after %d kills, want one per kill but the last", ev.RestartMs, ev.Kills)
	}
}

// TestCrashLoopNoRestart: a master that does not restart its workers
// leaves the loop waiting; the trial's end stops it after its first kill,
// with the reason, and so does an interrupted run, at once.
func TestCrashLoopNoRestart(t *testing.T) {
	for _, interrupt := range []bool{false, true} {
		srv := tree(t, "sleep 60 & sleep 60 & wait", 2)
		ctx, cancel := context.WithCancel(context.Background())
		began, done := begin()
		evsc := make(chan []results.FaultEvent, 1)
		go func() {
			evsc <- Run(ctx, []scenario.Fault{{At: 0, Action: scenario.FaultCrashLoop, Pick: scenario.PickRandom, Times: 3}}, srv, Trial{Began: began, Done: done})
		}()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(poll) {
			if _, ws, _ := Workers(srv.Pid); len(ws) == 1 {
				break // the kill is done
			}
			if time.Now().After(deadline) {
				t.Fatal("no worker was killed")
			}
		}
		if interrupt {
			cancel()
		} else {
			close(done)
		}
		ev := (<-evsc)[0]
		want := "stopped after 1 of 3 kills: the trial ended before a new worker process followed kill 1"
		if interrupt {
			want = "stopped after 1 of 3 kills: the run was interrupted"
		}
		if !ev.Applied || ev.Kills != 1 || ev.Reason != want || ev.GaveUp || len(ev.RestartMs) != 0 {
			t.Errorf("interrupted %v: event %+v, want applied, 1 kill, %q, not given up", interrupt, ev, want)
		}
		if interrupt {
			close(done)
		}
		cancel()
	}
}
