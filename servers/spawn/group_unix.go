//go:build unix

package spawn

import (
	"errors"
	"os"
	"syscall"
)

// signalGroup sends sig to the process group that leader leads.
func signalGroup(leader *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-leader.Pid, sig)
}

// groupAlive reports whether process group pgid still has a process (a
// zombie counts).
func groupAlive(pgid int) bool {
	return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// killPid sends SIGKILL to process pid.
func killPid(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
