package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// userHZ is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux architecture Go runs on).
const userHZ = 100

// ClientBoundUtil is the share of its CPUs the generator used or waited
// for (see WorkWait) from which a trial is flagged as possibly
// client-bound.
const ClientBoundUtil = 0.85

// ThreadSched is one thread's scheduler figures from
// /proc/self/task/<tid>/schedstat.
type ThreadSched struct {
	CPU  time.Duration // time on a CPU
	Wait time.Duration // time runnable, waiting for a CPU
}

// WorkWait is how long the threads that did this process's work waited,
// runnable, for a CPU between two SelfSched snapshots: each thread's wait
// weighted by its share of the CPU time used. A housekeeping thread that
// wakes often but hardly runs (the Go runtime's sysmon) waits on a busy
// machine too; weighting keeps its wait from counting as demand. A
// thread absent from before counts from zero; one absent from after is
// lost.
func WorkWait(before, after map[int]ThreadSched) time.Duration {
	type delta struct{ cpu, wait time.Duration }
	var total time.Duration
	ds := make([]delta, 0, len(after))
	for tid, a := range after {
		b := before[tid]
		d := delta{a.CPU - b.CPU, a.Wait - b.Wait}
		if d.cpu < 0 || d.wait < 0 {
			continue // a reused thread ID
		}
		ds = append(ds, d)
		total += d.cpu
	}
	if total <= 0 {
		return 0
	}
	var w float64
	for _, d := range ds {
		w += float64(d.wait) * float64(d.cpu) / float64(total)
	}
	return time.Duration(w)
}

// ErrCPUNotMeasured marks a CPUDuring error that comes from the CPU
// samples, not from the attack: the attack ran, and what it measured
// stands without its CPU time if the caller so decides.
var ErrCPUNotMeasured = errors.New("CPU time not measured")

// CPUDuring runs attack between two samples of cpu, a cumulative CPU time
// such as TreeCPU's, and returns the CPU time used in between. It is the
// one way a trial (bench/runner) or a slice of one (bench/ab) measures
// its server's CPU. An error from attack is returned as it is. A failed
// sample, or a second sample below the first (a reap can take the figure
// back: see TreeCPU), is an error that wraps ErrCPUNotMeasured, returned
// after the attack has run. cpu, attack, cpu run in turn on the caller's
// goroutine.
func CPUDuring(cpu func() (time.Duration, error), attack func() error) (time.Duration, error) {
	before, errBefore := cpu()
	if err := attack(); err != nil {
		return 0, err
	}
	if errBefore != nil {
		return 0, fmt.Errorf("%w: before the attack: %w", ErrCPUNotMeasured, errBefore)
	}
	after, err := cpu()
	if err != nil {
		return 0, fmt.Errorf("%w: after the attack: %w", ErrCPUNotMeasured, err)
	}
	if after < before {
		return 0, fmt.Errorf("%w: the figure went back across the attack, from %v to %v (a process reaped outside the tree, or rounded to ticks when reaped inside it)", ErrCPUNotMeasured, before, after)
	}
	return after - before, nil
}

// ParseSchedstat parses a schedstat line ("cpu_ns wait_ns timeslices").
func ParseSchedstat(b []byte) (ThreadSched, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return ThreadSched{}, fmt.Errorf("schedstat: %q has %d fields, want 3", truncate(b), len(f))
	}
	var n [2]int64
	for i := range n {
		v, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil || v < 0 {
			return ThreadSched{}, fmt.Errorf("schedstat: bad field %d %q", i+1, f[i])
		}
		n[i] = v
	}
	return ThreadSched{CPU: time.Duration(n[0]), Wait: time.Duration(n[1])}, nil
}

// ProcStat is what TreeProcs reads of one process in /proc/<pid>/stat.
type ProcStat struct {
	Pid, PPid, Pgrp int
	State           byte
	StartTicks      int64 // start time after boot, in USER_HZ ticks: with Pid, an identity
	// CPU is utime+stime plus cutime+cstime: the process's own CPU time and
	// that of its children it has already reaped, in whole USER_HZ ticks
	// (each of the four fields is rounded down to 10 ms).
	CPU time.Duration
	// ReapedCPU is the cutime+cstime part of CPU: the children it has
	// reaped, and the children they had reaped.
	ReapedCPU time.Duration
}

// ParseProcStat parses the content of /proc/<pid>/stat.
func ParseProcStat(b []byte) (ProcStat, error) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime ...; comm may hold spaces
	// and parentheses, so split after the last ')'.
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return ProcStat{}, fmt.Errorf("proc stat: no (comm) in %q", truncate(b))
	}
	var st ProcStat
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return ProcStat{}, fmt.Errorf("proc stat: bad pid in %q", truncate(b))
	}
	st.Pid = pid
	f := bytes.Fields(b[end+1:])
	// f[0]=state f[1]=ppid f[2]=pgrp ... f[11]=utime f[12]=stime f[13]=cutime f[14]=cstime
	if len(f) < 20 || len(f[0]) != 1 {
		return ProcStat{}, fmt.Errorf("proc stat: %d fields after comm, want ≥ 20", len(f))
	}
	st.State = f[0][0]
	var n [7]int64
	for i, idx := range []int{1, 2, 11, 12, 13, 14, 19} {
		v, err := strconv.ParseInt(string(f[idx]), 10, 64)
		if err != nil {
			return ProcStat{}, fmt.Errorf("proc stat: field %d: %v", idx+3, err)
		}
		n[i] = v
	}
	st.PPid, st.Pgrp, st.StartTicks = int(n[0]), int(n[1]), n[6]
	st.CPU = time.Duration(n[2]+n[3]+n[4]+n[5]) * time.Second / userHZ
	st.ReapedCPU = time.Duration(n[4]+n[5]) * time.Second / userHZ
	return st, nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
