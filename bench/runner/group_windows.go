package runner

import (
	"os"
	"syscall"
)

// childAttr starts a child plainly: Windows has neither process groups
// in the Unix sense nor Pdeathsig, so a server outlives this process if
// it is killed; Stop and a context's cancellation kill the server itself.
func childAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills leader, whatever sig: Windows delivers no SIGTERM, so
// a server is not drained but terminated.
func signalGroup(leader *os.Process, _ syscall.Signal) error { return leader.Kill() }

// groupAlive reports false: without process groups, the leader, reaped
// before this is asked, is all there is to wait for.
func groupAlive(int) bool { return false }
