//go:build unix

package metrics

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// SelfCPU returns the CPU time (user + system) this process has used so far.
func SelfCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
