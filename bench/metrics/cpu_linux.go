package metrics

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// SelfSched snapshots the scheduler figures of every current thread of
// this process, by thread ID.
func SelfSched() (map[int]ThreadSched, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	out := make(map[int]ThreadSched, len(ents))
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/schedstat")
		if err != nil {
			continue // exited meanwhile
		}
		ts, err := ParseSchedstat(b)
		if err != nil {
			return nil, err
		}
		out[tid] = ts
	}
	return out, nil
}

// AllowedCPUs returns how many CPUs this process may run on.
func AllowedCPUs() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() == 0 {
		return 1
	}
	return set.Count()
}

// allProcs reads every process's stat; zombies (and dead ones) only when
// asked: they hold no CPU and wait only to be reaped, but their figures
// still count until their parent reaps them into its own.
func allProcs(zombies bool) ([]ProcStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	out := make([]ProcStat, 0, len(ents))
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		st, err := ParseProcStat(b)
		if err != nil || !zombies && (st.State == 'Z' || st.State == 'X') {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// GroupProcs returns the live processes of process group pgid.
func GroupProcs(pgid int) ([]ProcStat, error) {
	all, err := allProcs(false)
	if err != nil {
		return nil, err
	}
	var out []ProcStat
	for _, p := range all {
		if p.Pgrp == pgid {
			out = append(out, p)
		}
	}
	return out, nil
}

// TreeProcs returns the live processes that belong to a server started as
// the leader of process group root: the members of the group and every
// descendant of root (a server may put its children in groups of their
// own, as the prefork master does).
func TreeProcs(root int) ([]ProcStat, error) {
	return treeProcs(root, false)
}

func treeProcs(root int, zombies bool) ([]ProcStat, error) {
	all, err := allProcs(zombies)
	if err != nil {
		return nil, err
	}
	parent := make(map[int]int, len(all))
	for _, p := range all {
		parent[p.Pid] = p.PPid
	}
	var out []ProcStat
	for _, p := range all {
		in := p.Pgrp == root || p.Pid == root
		for pid, depth := p.PPid, 0; !in && pid > 1 && depth < 64; pid, depth = parent[pid], depth+1 {
			in = pid == root
		}
		if in {
			out = append(out, p)
		}
	}
	return out, nil
}

// Alive reports whether the process p names is still running: same pid,
// same start time, not a zombie.
func Alive(p ProcStat) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/stat")
	if err != nil {
		return false
	}
	st, err := ParseProcStat(b)
	return err == nil && st.StartTicks == p.StartTicks && st.State != 'Z' && st.State != 'X'
}

// TreeCPU returns the CPU time used so far by the processes of
// TreeProcs(root), including the children they have reaped and those that
// have exited but are not reaped yet (a zombie still holds its figures; left
// out, a child that died in a trial would take its CPU time out of the
// tree until its parent reaped it). Sample it before and after a trial: a
// process that exits and is reaped by a parent outside the tree between
// the samples is lost, one reaped inside the tree moves into its parent's
// figure.
func TreeCPU(root int) (time.Duration, error) {
	procs, err := treeProcs(root, true)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, p := range procs {
		sum += p.CPU
	}
	return sum, nil
}
