package runner

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// childAttr makes a child the leader of its own process group, killed
// with SIGKILL when the thread that forked it exits (Pdeathsig).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the process group leader leads.
func signalGroup(leader *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-leader.Pid, sig)
}

// Stop ends the server: SIGTERM to its process group (the server drains
// and stops its own children), up to grace for every process of its tree
// to exit, then SIGKILL to the group and to every process of the tree,
// wherever its group. It returns an error naming the pids of any process
// of the tree still alive afterwards.
func (p *Proc) Stop(grace time.Duration) error {
	pgid := p.pid
	tree, _ := metrics.TreeProcs(pgid) // a snapshot: descendants lose their parent link once it exits
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	if !p.waitGone(tree, grace) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		for _, q := range tree {
			if metrics.Alive(q) {
				_ = syscall.Kill(q.Pid, syscall.SIGKILL)
			}
		}
		p.waitGone(tree, reapTimeout)
	}
	select {
	case <-p.done:
	case <-time.After(reapTimeout):
		return fmt.Errorf("server %s (pid %d) was not reaped %s after SIGKILL", p.spec.Name, p.pid, reapTimeout)
	}
	var left []string
	for _, q := range tree {
		if metrics.Alive(q) {
			left = append(left, strconv.Itoa(q.Pid))
		}
	}
	if group, err := metrics.GroupProcs(pgid); err == nil {
		for _, q := range group {
			if !slices.Contains(left, strconv.Itoa(q.Pid)) {
				left = append(left, strconv.Itoa(q.Pid))
			}
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("server %s: processes %s still alive after SIGKILL", p.spec.Name, strings.Join(left, ", "))
	}
	return nil
}

// waitGone waits up to d for the leader to be reaped and every process of
// tree and of the leader's group to exit; it reports whether they did.
func (p *Proc) waitGone(tree []metrics.ProcStat, d time.Duration) bool {
	deadline := time.Now().Add(d)
	tick := 5 * time.Millisecond
	for {
		if p.Exited() && p.treeGone(tree) {
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

func (p *Proc) treeGone(tree []metrics.ProcStat) bool {
	for _, q := range tree {
		if metrics.Alive(q) {
			return false
		}
	}
	group, err := metrics.GroupProcs(p.pid)
	return err == nil && len(group) == 0
}
