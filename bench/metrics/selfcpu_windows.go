package metrics

import (
	"fmt"
	"syscall"
	"time"
)

// SelfCPU returns the CPU time (user + kernel) this process has used so far.
func SelfCPU() (time.Duration, error) {
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return 0, fmt.Errorf("GetCurrentProcess: %w", err)
	}
	var created, exited, kernel, user syscall.Filetime
	if err := syscall.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return 0, fmt.Errorf("GetProcessTimes: %w", err)
	}
	return filetime(kernel) + filetime(user), nil
}

// filetime is a duration held in a Filetime: 100 ns intervals.
func filetime(f syscall.Filetime) time.Duration {
	return time.Duration(int64(f.HighDateTime)<<32|int64(f.LowDateTime)) * 100
}
