package app

import (
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time the calling OS thread has used so far.
func threadCPU(t *testing.T) time.Duration {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		t.Fatalf("clock_gettime(CLOCK_THREAD_CPUTIME_ID): %v", err)
	}
	return time.Duration(ts.Nano())
}

// TestBurnCostsCPUTime checks that Burn spins rather than sleeps: the
// request takes at least the burn in wall time and uses CPU time on its
// thread. The CPU bound is a twentieth of the burn, because on a loaded
// 2-core machine the spinning thread gets only a share of a core; a sleep
// would use almost none (tens of microseconds).
func TestBurnCostsCPUTime(t *testing.T) {
	const burn = 50 * time.Millisecond
	h := Handler(Config{Burn: burn})
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, start := threadCPU(t), time.Now()
	rec := get(t, h, "/")
	wall, cpu := time.Since(start), threadCPU(t)-cpu0
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d", rec.Code)
	}
	t.Logf("wall %s, thread CPU %s", wall, cpu)
	if wall < burn {
		t.Errorf("GET / with %s burn took %s, want ≥ %s", burn, wall, burn)
	}
	if cpu < burn/20 {
		t.Errorf("GET / with %s burn used %s of CPU on its thread, want ≥ %s (a spin, not a sleep)", burn, cpu, burn/20)
	}
}

// TestBurnConcurrent runs burning requests on several goroutines at once,
// as every server model does; under -race it catches shared state in Spin.
func TestBurnConcurrent(t *testing.T) {
	h := Handler(Config{Burn: time.Millisecond})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if rec := get(t, h, "/"); rec.Code != http.StatusOK {
					t.Errorf("GET / = %d, want 200", rec.Code)
				}
			}
		}()
	}
	wg.Wait()
}
