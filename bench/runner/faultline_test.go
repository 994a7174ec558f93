package runner

import (
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
)

func TestFaultLine(t *testing.T) {
	ms := func(v float64) *float64 { return &v }
	tests := []struct {
		ev   results.FaultEvent
		want string
	}{
		{results.FaultEvent{Name: "SIGHUP", PlannedMs: 1500, Reason: "the server had exited"},
			"SIGHUP at 1.5s: not applied: the server had exited"},
		{results.FaultEvent{Name: "kill -9 worker (random)", AtMs: 1003, Applied: true, Pid: 7, Failed: results.Failures{Reset: 2}, RecoveryMs: ms(297), ReplacementMs: ms(12)},
			"kill -9 worker (random) at 1.003s: pid 7, 2 failed (2 reset), recovered in 297ms, new worker answered after 12ms"},
		{results.FaultEvent{Name: "kill -9 worker (random)", AtMs: 3950, Applied: true, Pid: 7, TooLate: true},
			"kill -9 worker (random) at 3.95s: pid 7, 0 failed, too late in the trial to tell whether it recovered"},
		{results.FaultEvent{Name: "kill -9 worker (random)", AtMs: 1000, Applied: true, Pid: 7},
			"kill -9 worker (random) at 1s: pid 7, 0 failed, not recovered"},
		{results.FaultEvent{Name: "SIGTERM", AtMs: 3000, Applied: true, Pid: 5, Failed: results.Failures{Refused: 11}, ExitMs: ms(35)},
			"SIGTERM at 3s: pid 5, 11 failed (11 refused), server exited after 35ms"},
		{results.FaultEvent{Name: "crash loop 3× (random)", AtMs: 1000, Applied: true, Pid: 7, Kills: 3, RestartMs: []float64{2, 101.4, 203},
			Failed: results.Failures{Reset: 4}, RecoveryMs: ms(400), ReplacementMs: ms(250)},
			"crash loop 3× (random) at 1s: pid 7, 3 kills, restarts 2ms 101ms 203ms, 4 failed (4 reset), recovered 400ms after the last kill, new worker answered 250ms after the last kill"},
		{results.FaultEvent{Name: "crash loop 8× (random)", AtMs: 1000, Applied: true, Pid: 7, Kills: 4, RestartMs: []float64{2, 101, 203}, GaveUp: true, ExitMs: ms(5),
			Reason: "stopped after 4 of 8 kills: the server exited 5ms after kill 4 instead of starting a new worker"},
			"crash loop 8× (random) at 1s: pid 7, 4 kills, restarts 2ms 101ms 203ms, master gave up, 0 failed, server exited 5ms after the last kill, " +
				"stopped after 4 of 8 kills: the server exited 5ms after kill 4 instead of starting a new worker"},
	}
	for _, tt := range tests {
		if got := FaultLine(tt.ev); got != tt.want {
			t.Errorf("FaultLine =\n%s\nwant\n%s", got, tt.want)
		}
	}
}
