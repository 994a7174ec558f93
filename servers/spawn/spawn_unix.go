//go:build unix && !linux

package spawn

import (
	"errors"
	"runtime"
	"syscall"
)

// PinningUnavailable says why Spec.CPUs cannot be used on this system: it
// needs Linux's sched_setaffinity.
const PinningUnavailable = "CPU pinning: not available on " + runtime.GOOS

// sysProcAttr: a process group of its own when ownGroup. There is no
// Pdeathsig here: a child outlives this process if that is killed.
func sysProcAttr(ownGroup bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: ownGroup}
}

// pinThread fails: see PinningUnavailable.
func pinThread([]int) error { return errors.New(PinningUnavailable) }

// DieWithParent fails: it needs Linux's PR_SET_PDEATHSIG.
func DieWithParent() error {
	return errors.New("dying with the parent (PR_SET_PDEATHSIG): not available on " + runtime.GOOS)
}
