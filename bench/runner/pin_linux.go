package runner

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// AllowedCPUs lists the CPUs this process may run on.
func AllowedCPUs() ([]int, error) {
	var s unix.CPUSet
	if err := unix.SchedGetaffinity(0, &s); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	return cpuList(&s), nil
}

func cpuList(s *unix.CPUSet) []int {
	var out []int
	for c := 0; c < len(s)*64; c++ {
		if s.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}

func cpuSet(cpus []int) *unix.CPUSet {
	var s unix.CPUSet
	for _, c := range cpus {
		s.Set(c)
	}
	return &s
}

// pinSelf sets the affinity of every thread of this process to cpus and
// returns a function that puts back each thread's previous mask (threads
// created meanwhile inherit cpus and are restored to the first saved mask).
// Threads created later inherit the mask of the thread that creates them.
func pinSelf(cpus []int) (restore func(), err error) {
	set := cpuSet(cpus)
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	// Twice: a thread created during the first pass by an unpinned one is
	// caught by the second.
	for range 2 {
		if err := forEachThread(func(tid int) error { return unix.SchedSetaffinity(tid, set) }); err != nil {
			return nil, err
		}
	}
	return func() {
		_ = forEachThread(func(tid int) error { return unix.SchedSetaffinity(tid, &orig) })
	}, nil
}

func forEachThread(f func(tid int) error) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("list threads: %w", err)
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := f(tid); err != nil && err != unix.ESRCH { // ESRCH: thread gone meanwhile
			return fmt.Errorf("sched_setaffinity(thread %d): %w", tid, err)
		}
	}
	return nil
}
