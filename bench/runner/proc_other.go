//go:build !linux

package runner

import (
	"fmt"
	"syscall"
	"time"
)

// Stop ends the server: SIGTERM to its process group (the server drains
// and stops its own children), up to grace for the leader to be reaped
// and the group to empty, then SIGKILL to the group. Without Linux's /proc
// it cannot follow a descendant that left the group. On Windows, which has
// neither process groups nor SIGTERM, the leader is killed at once (see
// signalGroup). It returns an error when the group still has a process
// afterwards.
func (p *Proc) Stop(grace time.Duration) error {
	_ = signalGroup(p.leader, syscall.SIGTERM)
	if !p.waitGone(grace) {
		_ = signalGroup(p.leader, syscall.SIGKILL)
		p.waitGone(reapTimeout)
	}
	select {
	case <-p.done:
	case <-time.After(reapTimeout):
		return fmt.Errorf("server %s (pid %d) was not reaped %s after SIGKILL", p.spec.Name, p.pid, reapTimeout)
	}
	if groupAlive(p.pid) {
		return fmt.Errorf("server %s: processes of its group %d still alive after SIGKILL", p.spec.Name, p.pid)
	}
	return nil
}

// waitGone waits up to d for the leader to be reaped and its group to
// empty; it reports whether they did.
func (p *Proc) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	tick := 5 * time.Millisecond
	for {
		if p.Exited() && !groupAlive(p.pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-p.done:
		case <-time.After(tick):
		}
		tick = min(tick*2, 100*time.Millisecond)
	}
}
