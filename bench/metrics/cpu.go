package metrics

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// userHZ is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux architecture Go runs on).
const userHZ = 100

// SelfCPU returns the CPU time (user + system) this process has used so far.
func SelfCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// ClientBoundUtil is the generator CPU utilisation (of the CPUs it may
// use) from which a trial is flagged as possibly client-bound.
const ClientBoundUtil = 0.85

// AllowedCPUs returns how many CPUs this process may run on.
func AllowedCPUs() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() == 0 {
		return 1
	}
	return set.Count()
}

// ProcStat is what GroupCPU reads of one process in /proc/<pid>/stat.
type ProcStat struct {
	Pid, PPid, Pgrp int
	State           byte
	// CPU is utime+stime plus cutime+cstime: the process's own CPU time and
	// that of its children it has already reaped.
	CPU time.Duration
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
	if len(f) < 15 || len(f[0]) != 1 {
		return ProcStat{}, fmt.Errorf("proc stat: %d fields after comm, want ≥ 15", len(f))
	}
	st.State = f[0][0]
	var n [6]int64
	for i, idx := range []int{1, 2, 11, 12, 13, 14} {
		v, err := strconv.ParseInt(string(f[idx]), 10, 64)
		if err != nil {
			return ProcStat{}, fmt.Errorf("proc stat: field %d: %v", idx+3, err)
		}
		n[i] = v
	}
	st.PPid, st.Pgrp = int(n[0]), int(n[1])
	ticks := n[2] + n[3] + n[4] + n[5]
	st.CPU = time.Duration(ticks) * time.Second / userHZ
	return st, nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// GroupProcs returns the processes of process group pgid that are still
// running (zombies excluded: they hold no CPU and wait only to be reaped).
func GroupProcs(pgid int) ([]ProcStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	var out []ProcStat
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		st, err := ParseProcStat(b)
		if err != nil || st.Pgrp != pgid || st.State == 'Z' || st.State == 'X' {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// GroupCPU returns the CPU time used so far by the live processes of
// process group pgid, including the children they have reaped. Sample it
// before and after a trial: a process that exits and is reaped by a parent
// outside the group between the samples is lost, one reaped inside the
// group moves into its parent's figure.
func GroupCPU(pgid int) (time.Duration, error) {
	procs, err := GroupProcs(pgid)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, p := range procs {
		sum += p.CPU
	}
	return sum, nil
}
