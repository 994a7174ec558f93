package runner

import (
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
)

// TestExitWarning: the warning names when the server exited after each
// fault, counted as the event counts it: from a crash loop's last kill,
// else from the fault.
func TestExitWarning(t *testing.T) {
	ms := func(v float64) *float64 { return &v }
	tests := []struct {
		ev   results.FaultEvent
		want string
	}{
		{results.FaultEvent{Name: "kill -9 worker (random)", AtMs: 1000, Applied: true, ExitMs: ms(35)},
			"pf at rate 500/s trial 2: the server exited after kill -9 worker (random) at 1s, exited 35ms later; the trial ended there and the server was started again for the next"},
		{results.FaultEvent{Name: "crash loop 8× (random)", AtMs: 1000, Applied: true, Kills: 4, KillsAtMs: []float64{1000, 1100, 1300, 1700}, ExitMs: ms(5)},
			"pf at rate 500/s trial 2: the server exited after crash loop 8× (random) at 1s, exited 5ms after its last kill (at 1.7s); the trial ended there and the server was started again for the next"},
		{results.FaultEvent{Name: "kill -9 worker (random)", AtMs: 1000, Applied: true},
			"pf at rate 500/s trial 2: the server exited after a fault; the trial ended there and the server was started again for the next"},
	}
	for _, tt := range tests {
		if got := exitWarning("pf", results.LevelName("open", 500), 2, []results.FaultEvent{tt.ev}); got != tt.want {
			t.Errorf("exitWarning:\n got %q\nwant %q", got, tt.want)
		}
	}
}
