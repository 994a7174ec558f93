package spawn

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

// PinningUnavailable says why Spec.CPUs cannot be used on this system: it
// needs Linux's sched_setaffinity.
const PinningUnavailable = "CPU pinning: not available on " + runtime.GOOS

// sysProcAttr is nil: Windows has neither process groups in the Unix sense
// nor Pdeathsig, so a child outlives this process if that is killed.
func sysProcAttr(bool) *syscall.SysProcAttr { return nil }

// pinThread fails: see PinningUnavailable.
func pinThread([]int) error { return errors.New(PinningUnavailable) }

// signalGroup kills leader, whatever sig: Windows delivers no SIGTERM.
func signalGroup(leader *os.Process, _ syscall.Signal) error { return leader.Kill() }

// groupAlive reports false: without process groups, the child, reaped
// before this is asked, is all there is to wait for.
func groupAlive(int) bool { return false }

// killPid kills process pid.
func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer p.Release()
	return p.Kill()
}

// DieWithParent fails: Windows has no Pdeathsig.
func DieWithParent() error {
	return errors.New("dying with the parent (PR_SET_PDEATHSIG): not available on " + runtime.GOOS)
}
