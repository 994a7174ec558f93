package results

import "strconv"

// FaultSpec is one fault of the scenario as the run applied it.
type FaultSpec struct {
	AtMs    float64 `json:"at_ms"`              // from the trial's start
	Action  string  `json:"action"`             // kill | stall | crash_loop | signal
	Signal  string  `json:"signal,omitempty"`   // signal: HUP, TERM, INT, USR1, USR2
	Pick    string  `json:"pick,omitempty"`     // kill, stall, crash_loop: busiest | random | id
	ID      int     `json:"id,omitempty"`       // pick id: the X-Worker-Id
	ForMs   float64 `json:"for_ms,omitempty"`   // stall: how long
	Times   int     `json:"times,omitempty"`    // crash_loop: kills in all
	EveryMs float64 `json:"every_ms,omitempty"` // crash_loop: the least time between two kills
	Name    string  `json:"name"`               // as tables show it, e.g. "kill -9 worker (random)"
}

// Timeline is one trial in buckets of BucketMs by completion time from
// the trial's start (bucket i covers [i·BucketMs, (i+1)·BucketMs)), for
// charts and for the figures around each fault.
type Timeline struct {
	BucketMs float64          `json:"bucket_ms"`
	Buckets  []TimelineBucket `json:"buckets"`
	// FirstSeen is when each worker pid answered its first request of the
	// trial (ms from its start), in order of time; FirstSeenFull is set
	// when more pids answered than it keeps.
	FirstSeen     []PidSeen `json:"first_seen"`
	FirstSeenFull bool      `json:"first_seen_full,omitempty"`
}

// TimelineBucket is what completed in one bucket of a Timeline. Failures
// are counted by kind: a refused connect, a reset connection, one the
// server closed before answering in full, a timeout, a 5xx answer, and
// anything else (another non-success status, a malformed answer). The
// percentiles are of the successful requests, from a log-scale histogram
// whose bins are 1/8 of an octave wide (values are the bin's upper edge:
// at most 12.5% above the true value).
type TimelineBucket struct {
	StartMs   float64 `json:"start_ms"`
	OK        int64   `json:"ok"`
	OKPerS    float64 `json:"ok_per_s"`
	Refused   int64   `json:"refused,omitempty"`
	Reset     int64   `json:"reset,omitempty"`
	Closed    int64   `json:"closed,omitempty"`
	Timeout   int64   `json:"timeout,omitempty"`
	Status5xx int64   `json:"status_5xx,omitempty"`
	Other     int64   `json:"other,omitempty"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	// Pids are the worker pids (X-Worker-Pid) that answered in the
	// bucket, sorted; MorePids is set when more answered than it keeps.
	Pids     []int `json:"pids"`
	MorePids bool  `json:"more_pids,omitempty"`
}

// Failed is the bucket's failed requests of every kind.
func (b TimelineBucket) Failed() int64 {
	return b.Failures().Total()
}

// Failures is the bucket's failed requests by kind.
func (b TimelineBucket) Failures() Failures {
	return Failures{Refused: b.Refused, Reset: b.Reset, Closed: b.Closed, Timeout: b.Timeout, Status5xx: b.Status5xx, Other: b.Other}
}

// PidSeen is the first answer of a worker pid in a trial.
type PidSeen struct {
	Pid  int     `json:"pid"`
	AtMs float64 `json:"at_ms"`
}

// Failures counts failed requests by kind (as TimelineBucket does).
type Failures struct {
	Refused   int64 `json:"refused"`
	Reset     int64 `json:"reset"`
	Closed    int64 `json:"closed"`
	Timeout   int64 `json:"timeout"`
	Status5xx int64 `json:"status_5xx"`
	Other     int64 `json:"other"`
}

// Total is the failures of every kind.
func (f Failures) Total() int64 {
	return f.Refused + f.Reset + f.Closed + f.Timeout + f.Status5xx + f.Other
}

// Kinds names each kind that failed with its count, as tables and
// messages print them ("3 refused", "1 5xx"), in the order refused, reset,
// closed, timeout, 5xx, other; nil when nothing failed.
func (f Failures) Kinds() []string {
	var kinds []string
	for _, k := range []struct {
		n    int64
		name string
	}{{f.Refused, "refused"}, {f.Reset, "reset"}, {f.Closed, "closed"}, {f.Timeout, "timeout"}, {f.Status5xx, "5xx"}, {f.Other, "other"}} {
		if k.n > 0 {
			kinds = append(kinds, strconv.FormatInt(k.n, 10)+" "+k.name)
		}
	}
	return kinds
}

// FaultEvent is one fault as applied in one trial, and what it did. Times
// are ms from the trial's start (At*) or from the fault (the others).
type FaultEvent struct {
	Index     int     `json:"index"` // in the scenario's faults
	Name      string  `json:"name"`
	PlannedMs float64 `json:"planned_ms"`
	AtMs      float64 `json:"at_ms"` // when it was applied
	Applied   bool    `json:"applied"`
	Reason    string  `json:"reason,omitempty"` // not applied: why
	// Pid is the process signalled (a worker, or the master);
	// WorkersBefore the server's worker processes just before.
	Pid           int   `json:"pid,omitempty"`
	WorkersBefore []int `json:"workers_before,omitempty"`
	// RespawnMs: a worker process that was not there before appeared in
	// the server's process tree this long after the fault (kill, HUP;
	// watched for up to 5 s).
	RespawnMs *float64 `json:"respawn_ms,omitempty"`
	// ExitMs: the server exited this long after the fault (TERM, INT;
	// a crash loop: after its last kill).
	ExitMs *float64 `json:"exit_ms,omitempty"`

	// A crash loop (crash_loop: worker): Kills is the SIGKILLs sent, at
	// KillsAtMs (from the trial's start; AtMs and Pid are the first's) to
	// KilledPids, in order; RestartMs[i] the time from kill i until a
	// worker process new since then appeared (one fewer than Kills when
	// none followed the last kill before the trial ended); RespawnMs is
	// the last of them when it followed the last kill. GaveUp: after a
	// kill the master started no new worker process within
	// faults.CrashLoopWait, or it exited instead (ExitMs). A loop stopped
	// before Times kills says why in Reason, with Applied set when at
	// least one kill was sent.
	Kills      int       `json:"kills,omitempty"`
	KillsAtMs  []float64 `json:"kills_at_ms,omitempty"`
	KilledPids []int     `json:"killed_pids,omitempty"`
	RestartMs  []float64 `json:"restart_ms,omitempty"`
	GaveUp     bool      `json:"gave_up,omitempty"`

	// Figures from the timeline. Failed counts the requests that failed
	// from the fault's bucket up to the next fault's (or the trial's end).
	// BaselineOKPerS is the median successful rate of the buckets before
	// the fault; RecoveryMs is the time until the rate was back within
	// 10% of it (nil: not recovered, or TooLate), for a crash loop from
	// its last kill; TooLate is set when the
	// trial ended too soon after the fault to tell either way (fewer
	// than the buckets a recovery must hold, or a recovery under way and
	// cut by the end). WorstMs is the highest
	// latency that completed from the fault until then, the first bucket
	// back included (requests queued meanwhile complete in it). ReplacementMs is
	// the time until a worker pid that did not exist before the fault
	// answered its first request (nil: none did); for a crash loop, one
	// that it did not kill, from its last kill.
	Failed         Failures `json:"failed"`
	BaselineOKPerS float64  `json:"baseline_ok_per_s"`
	RecoveryMs     *float64 `json:"recovery_ms,omitempty"`
	TooLate        bool     `json:"too_late,omitempty"`
	WorstMs        float64  `json:"worst_ms"`
	ReplacementMs  *float64 `json:"replacement_ms,omitempty"`
	NewPids        []int    `json:"new_pids,omitempty"`
}

// FaultSummary aggregates one fault of the scenario for one server at one
// level across the measured trials. RecoveryMs and ReplacementMs are over
// the trials where they happened (N says how many); NotRecovered and
// NotReplaced count the others (TooLate: the trials that ended too soon
// after the fault to tell whether it recovered), NotApplied the trials
// where the fault could not be applied.
type FaultSummary struct {
	Server        string   `json:"server"`
	Level         int      `json:"level"`
	Index         int      `json:"index"`
	Name          string   `json:"name"`
	AtMs          float64  `json:"at_ms"`
	Trials        int      `json:"trials"`
	NotApplied    int      `json:"not_applied,omitempty"`
	Failed        Estimate `json:"failed"`
	Refused       Estimate `json:"refused"`
	Reset         Estimate `json:"reset"`
	Closed        Estimate `json:"closed"`
	Timeout       Estimate `json:"timeout"`
	Status5xx     Estimate `json:"status_5xx"`
	Other         Estimate `json:"other"`
	RecoveryMs    Estimate `json:"recovery_ms"`
	NotRecovered  int      `json:"not_recovered,omitempty"`
	TooLate       int      `json:"too_late,omitempty"`
	WorstMs       Estimate `json:"worst_ms"`
	ReplacementMs Estimate `json:"replacement_ms"`
	NotReplaced   int      `json:"not_replaced,omitempty"`
	RespawnMs     Estimate `json:"respawn_ms"`
	ExitMs        Estimate `json:"exit_ms"`
	// Crash loops: the kills sent, the time from the first, the last and
	// the slowest kill of a trial until its replacement appeared, and the
	// trials where the master gave up (FaultEvent.GaveUp).
	Kills          Estimate `json:"kills,omitzero"`
	FirstRestartMs Estimate `json:"first_restart_ms,omitzero"`
	LastRestartMs  Estimate `json:"last_restart_ms,omitzero"`
	MaxRestartMs   Estimate `json:"max_restart_ms,omitzero"`
	GaveUp         int      `json:"gave_up,omitempty"`
}
