package ab

import (
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/clusterbench/clusterbench/bench/runner"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// CPUList parses a CPU list in taskset syntax ("1", "0-3", "0,2-3") and
// checks that every CPU is one this process may run on (allowed, from
// runner.AllowedCPUs: a container's cpuset need not start at CPU 0).
func CPUList(s string, allowed []int) ([]int, error) {
	cpus, err := scenario.ParseCPUList(s)
	if err != nil {
		return nil, fmt.Errorf("CPU list %q: %w (allowed: e.g. 1, 0-3, 0,2)", s, err)
	}
	for _, c := range cpus {
		if !slices.Contains(allowed, c) {
			return nil, fmt.Errorf("CPU list %q: CPU %d is not available to this process (allowed: %s)", s, c, runner.FormatCPUList(allowed))
		}
	}
	return cpus, nil
}

// AutoPin is the default split of the allowed CPUs: the servers on the
// first, the load generator on the others; nothing pinned with fewer
// than two.
func AutoPin(allowed []int) (server, client []int) {
	if len(allowed) < 2 {
		return nil, nil
	}
	return allowed[:1], slices.Clone(allowed[1:])
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
