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

// TreeCPU returns the CPU time (user+system) used so far by the server
// started as the leader of process group root: by every process of its
// tree (the group's members and root's descendants, as TreeProcs, and
// also those that have exited but are not reaped yet) and by the children
// they have reaped. Sample it on either side of an attack (CPUDuring).
//
// What is counted, and how precisely:
//   - Each process of the tree, live or a zombie: its process CPU clock
//     (clock_gettime(2) of the clock clock_getcpuclockid(3) names), in
//     nanoseconds. It is the scheduler's run time of all the process's
//     threads, those that have exited included: the counter that
//     /proc/PID/task/TID/schedstat shows per live thread, and that the
//     utime+stime of /proc/PID/stat rounds down to 10 ms ticks. A
//     zombie's clock still reads its whole run time until it is reaped.
//     Where the clock cannot be read (the process was reaped between the
//     listing and the read), or reads less than the stat's utime+stime
//     (its pid was reused meanwhile), the stat's figure counts instead, in
//     ticks.
//   - The children each process has reaped, and theirs: the cutime+cstime
//     of its /proc/PID/stat, two figures each rounded down to a 10 ms tick.
//     The kernel keeps no finer record of a reaped process that another
//     process can read.
//
// What is lost or moves between two samples: a process that exits and is
// reaped by a parent outside the tree (a grandchild orphaned to init in a
// group of its own) takes its CPU time with it. When a parent in the tree
// reaps a child, the child's nanoseconds move into the parent's ticks, so
// the figure can go back by up to 20 ms, once per reap; a process both
// started and reaped between the two samples counts in ticks only.
// An error means /proc could not be listed, or the tree has no process
// left.
func TreeCPU(root int) (time.Duration, error) {
	procs, err := treeProcs(root, true)
	if err != nil {
		return 0, err
	}
	if len(procs) == 0 {
		return 0, fmt.Errorf("CPU of process tree %d: no process left in it (exited and reaped)", root)
	}
	var sum time.Duration
	for _, p := range procs {
		own := p.CPU - p.ReapedCPU
		if ns, err := processClock(p.Pid); err == nil && ns > own {
			own = ns
		}
		sum += own + p.ReapedCPU
	}
	return sum, nil
}

// processClock reads the CPU clock of process pid: the clock ID that
// clock_getcpuclockid(3) makes, ^pid<<3 | CPUCLOCK_SCHED (2), a process's
// (not a thread's) scheduler run time. Linux lets any process read it for
// a process in its pid namespace, a zombie included.
func processClock(pid int) (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(^pid<<3|2), &ts); err != nil {
		return 0, fmt.Errorf("CPU clock of process %d: %w", pid, err)
	}
	return time.Duration(ts.Nano()), nil
}
