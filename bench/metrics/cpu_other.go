//go:build !linux

package metrics

import (
	"fmt"
	"runtime"
	"time"
)

// errNoProc: the figures below come from Linux's /proc, which this
// system does not have. Callers treat them as not measured: the report
// prints "-" for a server's CPU, and the client's wait for a CPU is left
// out of the client-bound verdict.
var errNoProc = fmt.Errorf("not measured on %s (needs Linux's /proc)", runtime.GOOS)

// SelfSched fails: per-thread scheduler figures need
// /proc/self/task/*/schedstat.
func SelfSched() (map[int]ThreadSched, error) {
	return nil, fmt.Errorf("thread scheduler figures: %w", errNoProc)
}

// AllowedCPUs returns the number of logical CPUs: without
// sched_getaffinity, every one counts as allowed.
func AllowedCPUs() int { return runtime.NumCPU() }

// GroupProcs fails: process listings need /proc.
func GroupProcs(pgid int) ([]ProcStat, error) {
	return nil, fmt.Errorf("processes of group %d: %w", pgid, errNoProc)
}

// TreeProcs fails: process listings need /proc.
func TreeProcs(root int) ([]ProcStat, error) {
	return nil, fmt.Errorf("process tree of %d: %w", root, errNoProc)
}

// Alive reports false: without /proc no process can be told apart from
// a later one with the same pid.
func Alive(ProcStat) bool { return false }

// TreeCPU fails: the CPU time of other processes needs /proc, so a
// server's CPU reads as not measured.
func TreeCPU(root int) (time.Duration, error) {
	return 0, fmt.Errorf("server CPU of process %d: %w", root, errNoProc)
}
