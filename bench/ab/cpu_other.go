//go:build !linux

package ab

import (
	"runtime"
	"time"
)

// ServerCPUUnavailable says why servers' CPU time cannot be measured on
// this system.
const ServerCPUUnavailable = "server CPU is not measured on " + runtime.GOOS + " (it needs Linux's /proc)"

// treeCPU returns 0 (see ServerCPUUnavailable): a trial's server CPU stays
// 0, which every report prints as "-".
func treeCPU(int) (time.Duration, error) { return 0, nil }
