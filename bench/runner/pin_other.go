//go:build !linux

package runner

import (
	"errors"
	"runtime"
)

// PinningUnavailable says why CPU pinning cannot be used on this system:
// it needs Linux's sched_setaffinity. Runs go unpinned and say so.
const PinningUnavailable = "CPU pinning: not available on " + runtime.GOOS

var errNoPinning = errors.New(PinningUnavailable)

// AllowedCPUs lists every logical CPU: without sched_getaffinity, each one
// counts as allowed.
func AllowedCPUs() ([]int, error) {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus, nil
}

// pinThread fails: see PinningUnavailable.
func pinThread([]int) error { return errNoPinning }

// pinSelf fails: see PinningUnavailable.
func pinSelf([]int) (restore func(), err error) { return nil, errNoPinning }
