//go:build !linux

package runner

import (
	"errors"
	"runtime"
)

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

// pinSelf fails: see PinningUnavailable.
func pinSelf([]int) (restore func(), err error) { return nil, errNoPinning }
