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
	}
	for _, tt := range tests {
		if got := FaultLine(tt.ev); got != tt.want {
			t.Errorf("FaultLine =\n%s\nwant\n%s", got, tt.want)
		}
	}
}
