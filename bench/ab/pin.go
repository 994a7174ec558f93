package ab

import (
	"fmt"
	"slices"

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
