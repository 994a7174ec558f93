package ab

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// ServerCPUUnavailable says why servers' CPU time cannot be measured on
// this system; empty on Linux.
const ServerCPUUnavailable = ""

// treeCPU returns the CPU time used so far by every live process of the
// server's tree (its process group and any descendant), summed over their
// threads from /proc/<pid>/task/*/schedstat: nanoseconds, unlike the 10 ms
// ticks of /proc/<pid>/stat. CPU of a thread or process that exits between
// two samples is lost.
func treeCPU(pid int) (time.Duration, error) {
	procs, err := metrics.TreeProcs(pid)
	if err != nil {
		return 0, err
	}
	if len(procs) == 0 {
		return 0, fmt.Errorf("server pid %d has no live process", pid)
	}
	var sum time.Duration
	for _, p := range procs {
		d, err := procCPU(p.Pid)
		if err != nil {
			continue // exited meanwhile
		}
		sum += d
	}
	return sum, nil
}

// procCPU sums the first field of /proc/<pid>/task/*/schedstat.
func procCPU(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		d, err := ParseSchedstat(b)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}
