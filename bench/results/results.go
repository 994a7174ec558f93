// Package results is the saved form of a run: what `clusterbench run`
// measured, in the shape every reporter (terminal tables, CSV, JSON,
// Markdown) and every comparison (compare, the regression gate) reads.
//
// It is the contract between the measuring side (bench/runner, bench/metrics)
// and the consuming side (bench/report, bench/gate). Fields are only ever
// added, never renamed; Schema changes when a meaning changes. Durations
// are float64 milliseconds (suffix Ms), rates per second, CPU in seconds.
// Values are plain data: safe to share read-only across goroutines.
package results

import (
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Schema is the version of the saved format written by this build.
const Schema = 1

// FileName is the name of the JSON document inside a run directory.
const FileName = "summary.json"

// Run is one invocation of `clusterbench run` for one scenario.
type Run struct {
	Schema   int          `json:"schema"`
	Scenario ScenarioInfo `json:"scenario"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	// Complete is false when the run was interrupted (Ctrl-C) or a server
	// failed part way; what was measured is kept and marked.
	Complete   bool        `json:"complete"`
	Incomplete string      `json:"incomplete,omitempty"` // why, when !Complete
	Env        Environment `json:"env"`
	Load       LoadInfo    `json:"load"`
	Servers    []Server    `json:"servers"`
	Trials     []Trial     `json:"trials"`  // one per server × level × trial, in run order
	Summary    []Summary   `json:"summary"` // one per server × level, aggregated across trials
	Warnings   []string    `json:"warnings,omitempty"`
	// Faults aggregates the per-fault figures of the trials: one per
	// server × level × fault of the scenario, in run order.
	Faults []FaultSummary `json:"faults,omitempty"`
	// Calc holds the calc batches of the scenario's calc: section (master
	// → workers task distribution, servers/calc), in scenario order.
	Calc []CalcResult `json:"calc,omitempty"`
	// Shard is set when the run is one shard of a load split across
	// several generators (run/load --shard), or the merge of such shards
	// (clusterbench merge); nil for an ordinary run.
	Shard *ShardInfo `json:"shard,omitempty"`
}

// ShardInfo describes a sharded run. A shard's own run directory holds
// its share of the load: Load.Levels and the trials' levels are the
// shard's shares, Levels the unsharded levels they came from (same order).
// A merged run (Merged non-empty) holds the whole load again: its
// Load.Levels equal Levels and Index is -1.
type ShardInfo struct {
	Index int    `json:"index"` // 0-based; -1 in a merged run
	Count int    `json:"count"`
	RunID string `json:"run_id"` // the same in every shard of one job
	// StartAt is the instant every shard began its warm-up (--start-at);
	// zero when the shards were not started together.
	StartAt time.Time `json:"start_at,omitzero"`
	Levels  []int     `json:"levels"` // the unsharded levels
	// RequestsPerTrial is the unsharded request count of each trial
	// (-n); 0 when the trials were timed.
	RequestsPerTrial int64 `json:"requests_per_trial,omitempty"`

	// Merged run only: the shard indexes merged, and those absent
	// (merge --allow-missing; the run is then not Complete).
	Merged  []int      `json:"merged,omitempty"`
	Missing []int      `json:"missing,omitempty"`
	Shards  []ShardRun `json:"shards,omitempty"`
}

// ShardRun is one shard as a merged run keeps it: where it ran and what
// its generator did in each trial. A merged trial is client-bound when any
// shard's was; these records say which.
type ShardRun struct {
	Index    int          `json:"index"`
	Dir      string       `json:"dir"` // the shard's run directory, as given to merge
	Hostname string       `json:"hostname"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Trials   []ShardTrial `json:"trials"`
}

// ShardTrial is one shard's generator in one trial of a merged run:
// Server, Level (unsharded) and Trial name the merged trial.
type ShardTrial struct {
	Server        string  `json:"server"`
	Level         int     `json:"level"`
	Trial         int     `json:"trial"`
	ShardLevel    int     `json:"shard_level"` // the shard's share of Level
	Requests      int64   `json:"requests"`
	DurationS     float64 `json:"duration_s"`
	ClientCPUS    float64 `json:"client_cpu_s"`
	ClientCPUUtil float64 `json:"client_cpu_util"`
	ClientWaitS   float64 `json:"client_wait_s,omitempty"`
	ClientBound   bool    `json:"client_bound,omitempty"`
	RateShortfall bool    `json:"rate_shortfall,omitempty"`
}

// ScenarioInfo names the scenario a run came from.
type ScenarioInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	File        string `json:"file,omitempty"`
}

// Environment records where and how a run was measured.
type Environment struct {
	Hostname   string   `json:"hostname"`
	OS         string   `json:"os"`
	Arch       string   `json:"arch"`
	CPUs       int      `json:"cpus"` // online CPUs of the machine
	CPUModel   string   `json:"cpu_model"`
	Kernel     string   `json:"kernel"`
	GoVersion  string   `json:"go_version"`
	GOMAXPROCS int      `json:"gomaxprocs"` // of the load generator
	GitCommit  string   `json:"git_commit,omitempty"`
	GitDirty   bool     `json:"git_dirty,omitempty"`
	Args       []string `json:"args"` // the exact command line
	// Pinning: the CPU lists the servers and the load generator were
	// confined to ("" = not pinned), and a human-readable note.
	ServerCPUs string `json:"server_cpus,omitempty"`
	ClientCPUs string `json:"client_cpus,omitempty"`
	Pinning    string `json:"pinning"`
}

// LoadInfo is the load the scenario applied.
type LoadInfo struct {
	Mode      string  `json:"mode"`   // "closed" (levels = concurrency) or "open" (levels = rate/s)
	Levels    []int   `json:"levels"` // concurrency levels or rates
	DurationS float64 `json:"duration_s"`
	WarmupS   float64 `json:"warmup_s"`
	Trials    int     `json:"trials"`
	KeepAlive bool    `json:"keepalive"`
	// Engine is the load generator's engine ("lean" or "vegeta"; empty in
	// runs saved before there was a choice, which used vegeta).
	Engine string `json:"engine,omitempty"`
	// MaxConns bounds the connections of an open loop (0: the default).
	MaxConns int `json:"connections,omitempty"`
	// RequestsPerTrial: each trial stopped after this many requests (run
	// -n); DurationS is then only its bound.
	RequestsPerTrial int64 `json:"requests_per_trial,omitempty"`
	// ExpectStatus: the status codes counted as successes (empty: 2xx).
	ExpectStatus []int     `json:"expect_status,omitempty"`
	Requests     []Request `json:"requests"`
	// Faults applied to each server in every measured trial.
	Faults []FaultSpec `json:"faults,omitempty"`
}

// Request is one entry of the request mix.
type Request struct {
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Weight    int                 `json:"weight"`
	Headers   map[string][]string `json:"headers,omitempty"`
	BodyBytes int                 `json:"body_bytes,omitempty"` // the body itself is not saved
}

// Server is a system under test as the run started it.
type Server struct {
	Name    string   `json:"name"`
	Target  string   `json:"target,omitempty"` // a server the user runs: its URL base; not started by the runner
	Command []string `json:"command"`          // argv as started
	Model   string   `json:"model,omitempty"`
	Workers int      `json:"workers,omitempty"`
	Balance string   `json:"balance,omitempty"`
	Env     []string `json:"env,omitempty"` // extra environment, KEY=VALUE
}

// Latency percentiles of one trial, in milliseconds, from an HdrHistogram
// (exact to 3 significant digits). Open-loop latencies are measured from
// the intended send time.
type Latency struct {
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Trial is one measured attack: one server at one level, one repetition.
type Trial struct {
	Server string `json:"server"`
	Level  int    `json:"level"` // concurrency (closed) or requested rate/s (open)
	Trial  int    `json:"trial"` // 1-based

	DurationS    float64 `json:"duration_s"`    // measured wall time of the attack
	Requests     int64   `json:"requests"`      // responses and errors received
	Successes    int64   `json:"successes"`     // 2xx responses
	SuccessRatio float64 `json:"success_ratio"` // successes / requests
	Throughput   float64 `json:"throughput"`    // successes per second
	// Open loop: the rate that was asked for and the rate achieved; a
	// shortfall beyond 5% sets RateShortfall.
	TargetRate    float64 `json:"target_rate,omitempty"`
	AchievedRate  float64 `json:"achieved_rate"`
	RateShortfall bool    `json:"rate_shortfall,omitempty"`
	// Dropped counts open-loop requests not sent because the generator
	// fell more than a second behind its schedule (all connections busy,
	// or its CPU short); they are part of the rate shortfall.
	Dropped int64 `json:"dropped,omitempty"`
	// Cut: the trial was cut short by an interruption (Ctrl-C); it ran
	// DurationS instead of the asked duration. Summaries, intervals and
	// the gate leave cut trials out unless nothing else was measured.
	Cut bool `json:"cut,omitempty"`

	Latency Latency `json:"latency"`
	// Histogram is the trial's whole latency distribution (nanoseconds,
	// 1µs to a minute, 3 significant digits; StartTimeMs and EndTimeMs
	// are the trial's wall-clock span). It is saved beside summary.json
	// in histograms.hlog (bench/hlog), not in the JSON; nil for a trial
	// read from a run directory that has none.
	Histogram   *hdrhistogram.Histogram `json:"-"`
	StatusCodes map[string]int64        `json:"status_codes"`     // "200", "503", "0" = no response
	Errors      map[string]int64        `json:"errors,omitempty"` // normalised messages (no ports, no addresses)

	// ClientCPUS is the load generator's own CPU time during the attack;
	// ClientCPUUtil divides it by wall time and by the CPUs it may use
	// (1.0 = all of them busy). ClientBound is set when the generator was
	// likely the bottleneck.
	ClientCPUS    float64 `json:"client_cpu_s"`
	ClientCPUUtil float64 `json:"client_cpu_util"`
	ClientBound   bool    `json:"client_bound,omitempty"`
	// ClientWaitS is how long the generator's working threads waited,
	// runnable, for a CPU (Linux schedstat, each thread's wait weighted by
	// its share of the CPU time): on a shared machine a starved generator
	// uses less than its CPUs yet is the bottleneck. ClientBound is set
	// when (ClientCPUS + ClientWaitS) / wall / CPUs reaches 0.85.
	ClientWaitS float64 `json:"client_wait_s,omitempty"`

	// ServerCPUS is the CPU time (user+system) of the server's whole
	// process tree during the attack, from /proc; ServerCPUPerReqUs divides
	// it by Requests (microseconds).
	ServerCPUS        float64 `json:"server_cpu_s"`
	ServerCPUPerReqUs float64 `json:"server_cpu_per_req_us"`

	Workers  []Worker `json:"workers"`
	Fairness Fairness `json:"fairness"`

	// Timeline is the trial in buckets of completion time (recorded when
	// the scenario has faults); Faults are the faults applied during it,
	// in the order they were due, with their figures.
	Timeline *Timeline    `json:"timeline,omitempty"`
	Faults   []FaultEvent `json:"faults,omitempty"`
}

// Worker is one server worker's share of a trial, keyed by X-Worker-Id.
type Worker struct {
	ID          string  `json:"id"`          // X-Worker-Id; "?" when absent
	Pids        []int   `json:"pids"`        // distinct X-Worker-Pid seen (more than one = restarted)
	Requests    int64   `json:"requests"`    // responses carrying this worker's ID
	Connections int64   `json:"connections"` // new connections whose first response came from it
	Share       float64 `json:"share"`       // Requests / sum of Requests
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	Errors      int64   `json:"errors"` // non-2xx responses from this worker
}

// Fairness of the request distribution across workers.
type Fairness struct {
	Workers     int     `json:"workers"`       // workers that answered at least once
	MaxOverMean float64 `json:"max_over_mean"` // 1 = perfectly even
	Jain        float64 `json:"jain"`          // Jain's index: 1 = even, 1/n = one worker took all
}

// Estimate is a median across trials with its 95% confidence interval.
// With fewer than the trials an interval needs, Lo and Hi equal Median and
// N says how few there were.
type Estimate struct {
	Median float64 `json:"median"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	N      int     `json:"n"`
	// Min and Max are the smallest and largest trial values (the spread,
	// shown when there are too few trials for an interval). Confidence is
	// the true coverage of [Lo, Hi] (≥ 0.95), 0 when there is no interval.
	Min        float64 `json:"min"`
	Max        float64 `json:"max"`
	Confidence float64 `json:"confidence"`
}

// Bounded reports whether [Lo, Hi] is a confidence interval: false when
// there were too few values for one (Confidence 0).
func (e Estimate) Bounded() bool { return e.Confidence > 0 }

// Summary aggregates the trials of one server at one level.
type Summary struct {
	Server            string   `json:"server"`
	Level             int      `json:"level"`
	Trials            int      `json:"trials"`
	Throughput        Estimate `json:"throughput"`
	AchievedRate      Estimate `json:"achieved_rate"`
	P50Ms             Estimate `json:"p50_ms"`
	P90Ms             Estimate `json:"p90_ms"`
	P99Ms             Estimate `json:"p99_ms"`
	P999Ms            Estimate `json:"p999_ms"`
	MaxMs             Estimate `json:"max_ms"`
	SuccessRatio      Estimate `json:"success_ratio"`
	ServerCPUPerReqUs Estimate `json:"server_cpu_per_req_us"`
	ClientCPUUtil     Estimate `json:"client_cpu_util"`
	// CutTrials counts the trials cut short: left out of the figures
	// above (and of Trials) when others exist; when every trial was cut,
	// the figures are theirs and OnlyCut is set.
	CutTrials     int  `json:"cut_trials,omitempty"`
	OnlyCut       bool `json:"only_cut,omitempty"`
	ClientBound   bool `json:"client_bound,omitempty"`   // in any trial
	RateShortfall bool `json:"rate_shortfall,omitempty"` // in any trial
	// Workers merges the per-worker tallies of every trial at this level.
	Workers  []Worker `json:"workers"`
	Fairness Fairness `json:"fairness"`
}

// CalcResult is one calc batch: tasks handed by a master to workers
// (inline, goroutine pool or process pool over pipes) and collected. Rates
// are tasks per second, latencies milliseconds, compute and IPC cost
// microseconds per task.
type CalcResult struct {
	Name     string `json:"name"`
	Model    string `json:"model"` // inline | goroutine | process
	Workers  int    `json:"workers"`
	Inflight int    `json:"inflight,omitempty"` // process: tasks in flight per worker
	Kind     string `json:"kind"`               // factorial | sum | primes | fibonacci | mix
	N        int64  `json:"n"`
	Tasks    int    `json:"tasks"` // per trial
	Trials   int    `json:"trials"`

	TasksPerS Estimate `json:"tasks_per_s"` // across trials, as Summary.Throughput
	P50Ms     Estimate `json:"p50_ms"`      // per-task latency, dispatch → result at the master
	P99Ms     Estimate `json:"p99_ms"`
	ComputeUs float64  `json:"compute_us"`       // mean worker compute time per task
	IPCUs     float64  `json:"ipc_us,omitempty"` // process: wall time per no-op task through the pool

	TrialTasksPerS []float64 `json:"trial_tasks_per_s"` // per trial, in order (TrialResults' TasksPerS)
	// TrialResults are the trials one by one, in order (absent in runs
	// saved before they were recorded: TrialTasksPerS is there).
	TrialResults []CalcTrial `json:"trial_results,omitempty"`
	// GOMAXPROCS of the master that ran the batch (0: not recorded).
	GOMAXPROCS    int          `json:"gomaxprocs,omitempty"`
	WorkerShares  []CalcWorker `json:"worker_shares"`
	Crashes       []CalcCrash  `json:"crashes,omitempty"`
	Checked       int64        `json:"checked"`
	Mismatches    int64        `json:"mismatches"` // wrong, failed or missing results
	FirstMismatch string       `json:"first_mismatch,omitempty"`
}

// CalcTrial is one measured trial of a calc batch.
type CalcTrial struct {
	Trial      int     `json:"trial"` // 1-based
	DurationS  float64 `json:"duration_s"`
	TasksPerS  float64 `json:"tasks_per_s"`
	P50Ms      float64 `json:"p50_ms"` // over every task of the trial
	P99Ms      float64 `json:"p99_ms"`
	Crashes    int     `json:"crashes"`
	Mismatches int64   `json:"mismatches"`
}

// CalcWorker is one calc worker's share of a batch, summed over its trials.
type CalcWorker struct {
	Worker    int     `json:"worker"`
	Pids      []int   `json:"pids"` // more than one: restarted
	Tasks     int64   `json:"tasks"`
	Share     float64 `json:"share"`
	BusyMs    float64 `json:"busy_ms"`
	BusyRatio float64 `json:"busy_ratio"` // compute time / wall time of the trials
}

// CalcCrash is a calc worker process that died mid-batch.
type CalcCrash struct {
	Worker    int    `json:"worker"`
	Pid       int    `json:"pid"`
	Reason    string `json:"reason"`
	Requeued  int    `json:"requeued"`
	Restarted bool   `json:"restarted"`
	NewPid    int    `json:"new_pid,omitempty"`
}

// LevelName names one level of a run's load in prose, as every report,
// chart and progress line does: "concurrency 8" (closed loop, mode
// "closed") or "rate 500/s" (open loop, mode "open").
func LevelName(mode string, level int) string {
	if mode == "open" {
		return "rate " + strconv.Itoa(level) + "/s"
	}
	return "concurrency " + strconv.Itoa(level)
}

// MsText prints a time in ms (the unit of every *Ms field) as a duration
// to the millisecond, as tables and progress lines show fault times:
// 1500 → "1.5s", 12.4 → "12ms", 0.2 → "0s".
func MsText(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Millisecond).String()
}
