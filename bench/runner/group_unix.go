//go:build unix && !linux

package runner

import (
	"errors"
	"os"
	"syscall"
)

// childAttr makes a child the leader of its own process group. Without
// Linux's Pdeathsig, a server outlives this process if that is killed
// (SIGKILL, a second Ctrl-C); Stop and a context's cancellation end the
// whole group.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group leader leads.
func signalGroup(leader *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-leader.Pid, sig)
}

// groupAlive reports whether process group pgid still has a process.
func groupAlive(pgid int) bool {
	return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}
