package ab

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ParseCPUList parses a CPU list in taskset syntax ("1", "0-3", "0,2-3")
// and checks every CPU exists on this machine.
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	n := runtime.NumCPU()
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("CPU list %q: %q is not a CPU number (allowed: e.g. 1, 0-3, 0,2)", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("CPU list %q: bad range %q (allowed: LOW-HIGH)", s, part)
			}
		}
		for c := a; c <= b; c++ {
			if c < 0 || c >= n {
				return nil, fmt.Errorf("CPU list %q: CPU %d does not exist (allowed: 0..%d)", s, c, n-1)
			}
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// pinProcess confines every thread of this process to cpus (threads
// created later inherit the mask of their creator) and returns a function
// that gives every thread the process's former mask back.
func pinProcess(cpus []int) (restore func(), err error) {
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("pin load generator: %w", err)
	}
	for _, c := range cpus {
		set.Set(c)
	}
	if err := setAllThreads(&set); err != nil {
		setAllThreads(&old)
		return nil, fmt.Errorf("pin load generator to CPUs %v: %w", cpus, err)
	}
	return func() { setAllThreads(&old) }, nil
}

func setAllThreads(set *unix.CPUSet) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return err
		}
	}
	return nil
}
