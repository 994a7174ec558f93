package faults

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/servers/spawn"
)

// tree starts sh -c script as the leader of its own process group, and
// returns the Server it is; Cleanup ends the group at once and checks
// that nothing of it is left (startGroup with no grace).
func tree(t *testing.T, script string, workers int) Server {
	t.Helper()
	srv, _ := startGroup(t, spawn.Spec{Argv: []string{"sh", "-c", script}}, 0)
	pgid := srv.Pid
	// wait until the workers run (the shell forks them as it starts)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ws, err := Workers(pgid); err == nil && len(ws) == workers {
			return srv
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %d workers of %q did not start", workers, script)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// state is the /proc state letter of pid ('T' stopped), 0 when gone.
func state(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	st, err := metrics.ParseProcStat(b)
	if err != nil {
		return 0
	}
	return st.State
}

func begin() (chan time.Time, chan struct{}) {
	began := make(chan time.Time, 1)
	began <- time.Now()
	return began, make(chan struct{})
}

// TestKillRespawn: a worker killed is seen replaced by a new process.
func TestKillRespawn(t *testing.T) {
	srv := tree(t, "while :; do sleep 60 & wait $!; done", 1)
	_, before, _ := Workers(srv.Pid)
	began, done := begin()
	evsc := make(chan []results.FaultEvent, 1)
	go func() {
		evs := Run(context.Background(), []scenario.Fault{{At: 0, Action: scenario.FaultKill, Pick: scenario.PickRandom}}, srv, Trial{Began: began, Done: done})
		evsc <- evs
	}()
	// the trial lasts until the replacement was seen (or Watch passed)
	var evs []results.FaultEvent
	for deadline := time.Now().Add(Watch + time.Second); ; {
		if _, ws, _ := Workers(srv.Pid); len(ws) == 1 && ws[0].Pid != before[0].Pid || time.Now().After(deadline) {
			close(done) // the watcher looks once more as the trial ends
			evs = <-evsc
			break
		}
		time.Sleep(poll)
	}
	ev := evs[0]
	if !ev.Applied || ev.Pid != before[0].Pid || ev.RespawnMs == nil || *ev.RespawnMs < 0 {
		t.Errorf("event %+v: want applied to pid %d, with a respawn time", ev, before[0].Pid)
	}
	if state(before[0].Pid) != 0 {
		t.Errorf("the killed worker %d is still there (state %c)", before[0].Pid, state(before[0].Pid))
	}
}

// TestStallInterrupted: a worker stalled for a minute is continued as
// soon as the run is interrupted, and Run returns.
func TestStallInterrupted(t *testing.T) {
	srv := tree(t, "sleep 60 & sleep 60 & wait", 2)
	ctx, cancel := context.WithCancel(context.Background())
	began, done := begin()
	defer close(done)
	evsc := make(chan []results.FaultEvent, 1)
	go func() {
		evsc <- Run(ctx, []scenario.Fault{
			{At: 0, Action: scenario.FaultStall, Pick: scenario.PickBusiest, For: time.Minute},
			{At: time.Minute, Action: scenario.FaultSignal, Signal: "HUP"},
		}, srv, Trial{Began: began, Done: done})
	}()
	var stalled int
	for deadline := time.Now().Add(5 * time.Second); stalled == 0; time.Sleep(poll) {
		_, ws, _ := Workers(srv.Pid)
		for _, w := range ws {
			if state(w.Pid) == 'T' {
				stalled = w.Pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no worker was stopped")
		}
	}
	cancel()
	evs := <-evsc
	if st := state(stalled); st == 'T' || st == 0 {
		t.Errorf("stalled worker %d: state %c after the interruption, want it running (continued)", stalled, st)
	}
	if !evs[0].Applied || evs[0].Pid != stalled || evs[1].Applied || !strings.Contains(evs[1].Reason, "interrupted") {
		t.Errorf("events %+v: want the stall applied to %d, the HUP not (interrupted)", evs, stalled)
	}
}

// TestTermEndsTrial: a master that exits on TERM ends the trial (End is
// called) and its exit time is recorded; a fault not yet due is not
// applied, nor is one on a server that has exited, each with the reason.
func TestTermEndsTrial(t *testing.T) {
	srv := tree(t, `trap 'exit 0' TERM; sleep 60 & wait`, 1)
	began, done := begin()
	ended := make(chan struct{})
	evsc := make(chan []results.FaultEvent, 1)
	go func() {
		evsc <- Run(context.Background(), []scenario.Fault{
			{At: 0, Action: scenario.FaultSignal, Signal: "TERM"},
			{At: time.Minute, Action: scenario.FaultKill, Pick: scenario.PickRandom},
		}, srv, Trial{Began: began, Done: done, End: func() { close(ended) }})
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the trial was not ended after the server exited")
	}
	close(done)
	evs := <-evsc
	if !evs[0].Applied || evs[0].ExitMs == nil {
		t.Errorf("TERM event %+v: want applied, with an exit time", evs[0])
	}
	if evs[1].Applied || !strings.Contains(evs[1].Reason, "not due") {
		t.Errorf("kill due after the trial's end %+v: want not applied, not due", evs[1])
	}
	began, done = begin()
	defer close(done)
	after := Run(context.Background(), []scenario.Fault{{At: 0, Action: scenario.FaultKill, Pick: scenario.PickRandom}}, srv, Trial{Began: began, Done: done})
	if after[0].Applied || after[0].Reason != "the server had exited" {
		t.Errorf("kill on an exited server %+v: want not applied, the server had exited", after[0])
	}
}
