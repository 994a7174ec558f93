package spawn

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// PinningUnavailable says why Spec.CPUs cannot be used on this system;
// empty on Linux, where sched_setaffinity pins the forking thread and the
// child inherits its mask.
const PinningUnavailable = ""

// sysProcAttr: SIGKILL when the forking thread exits (Pdeathsig), and a
// process group of its own when ownGroup.
func sysProcAttr(ownGroup bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: ownGroup, Pdeathsig: syscall.SIGKILL}
}

// pinThread confines the calling OS thread, locked by the caller, to cpus.
func pinThread(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	return unix.SchedSetaffinity(0, &set)
}

// DieWithParent is the child's side of Pdeathsig, for a process that may
// be started by a parent that did not set it: this process gets SIGKILL
// when the thread that forked it exits. It locks the calling goroutine to
// its OS thread for good (call it from main's goroutine, which keeps its
// thread for the life of the process) and fails when the parent is
// already gone (this process was reparented to init).
func DieWithParent() error {
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", err)
	}
	if os.Getppid() == 1 {
		return errors.New("parent already gone")
	}
	return nil
}
