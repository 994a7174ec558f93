package ab

import (
	"os"
	"testing"
	"time"
)

// The CPU time of this very process, read the way servers are read,
// grows while it spins: the reader sees real nanoseconds, not 10ms ticks.
func TestProcCPUMoves(t *testing.T) {
	pid := os.Getpid()
	a, err := procCPU(pid)
	if err != nil {
		t.Skipf("no /proc/<pid>/task/*/schedstat on this kernel: %v", err)
	}
	// Spin until the counter moves: on a loaded machine this thread may get
	// no CPU for a while, so a fixed spin of wall time proves nothing.
	// Bounded: 10 s of wall time.
	var b time.Duration
	for deadline := time.Now().Add(10 * time.Second); ; {
		for spin := time.Now().Add(3 * time.Millisecond); time.Now().Before(spin); {
		}
		if b, err = procCPU(pid); err != nil {
			t.Fatal(err)
		}
		if b > a || time.Now().After(deadline) {
			break
		}
	}
	if b <= a {
		t.Errorf("CPU did not grow in 10s of spinning: %v then %v", a, b)
	}
	if (b-a)%(10*time.Millisecond) == 0 {
		t.Errorf("CPU moved by a whole number of ticks (%v): schedstat should be finer", b-a)
	}
}
