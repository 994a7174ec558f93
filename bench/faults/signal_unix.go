//go:build unix

package faults

import (
	"fmt"
	"syscall"
)

var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	"KILL": syscall.SIGKILL, "STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT,
}

// send sends the signal named (without SIG) to pid.
func send(pid int, name string) error {
	sig, ok := signals[name]
	if !ok {
		return fmt.Errorf("faults: unknown signal %q", name)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("SIG%s to pid %d: %w", name, pid, err)
	}
	return nil
}
