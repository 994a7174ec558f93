package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/calcbatch"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/servers/spawn"
	"github.com/clusterbench/clusterbench/servers/workload"
)

// nodeResultPrefix starts the machine-readable line worker-calculation.js
// prints per trial.
const nodeResultPrefix = "CALC_RESULT "

// nodeTrial is one CALC_RESULT line.
type nodeTrial struct {
	Model         string            `json:"model"`
	Kind          string            `json:"kind"`
	N             int64             `json:"n"`
	Tasks         int               `json:"tasks"`
	Workers       int               `json:"workers"`
	Inflight      int               `json:"inflight"`
	DurationS     float64           `json:"duration_s"`
	TasksPerS     float64           `json:"tasks_per_s"`
	P50Ms         float64           `json:"p50_ms"`
	P99Ms         float64           `json:"p99_ms"`
	Checked       int64             `json:"checked"`
	Mismatches    int64             `json:"mismatches"`
	FirstMismatch string            `json:"first_mismatch"`
	Answers       map[string]string `json:"answers"`
	PerWorker     []struct {
		Worker int     `json:"worker"`
		Pid    int     `json:"pid"`
		Tasks  int64   `json:"tasks"`
		BusyMs float64 `json:"busy_ms"`
	} `json:"per_worker"`
}

// nodeRun runs the Node.js original once per trial (a fresh primary and
// workers each time, warmed up inside the script before the measured batch)
// and folds its trials into a results.CalcResult, as a calc batch.
type nodeRun struct {
	bin, script string
	kind        string
	n           int64
	tasks       int
	workers     int
	inflight    int
	trials      []nodeTrial
}

// nodeTimeout bounds one node invocation.
const nodeTimeout = 10 * time.Minute

// Trial runs the script once: one measured trial.
func (r *nodeRun) Trial(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, nodeTimeout)
	defer cancel()
	argv := []string{r.bin, r.script, "--kind", r.kind, "--n", strconv.FormatInt(r.n, 10),
		"--tasks", strconv.Itoa(r.tasks), "--workers", strconv.Itoa(r.workers),
		"--inflight", strconv.Itoa(r.inflight), "--trials", "1"}
	var stdout, stderr bytes.Buffer
	// A process group of its own, killed whole on cancellation, and on
	// Linux killed when we die (Pdeathsig): the primary and its cluster
	// workers never outlive us.
	_, err := spawn.Run(ctx, spawn.Spec{Argv: argv, Stdout: &stdout, Stderr: &stderr, WaitDelay: 5 * time.Second})
	var got []nodeTrial
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), nodeResultPrefix)
		if !ok {
			continue
		}
		var t nodeTrial
		if jerr := json.Unmarshal([]byte(line), &t); jerr != nil {
			return fmt.Errorf("node: unreadable result line: %w", jerr)
		}
		got = append(got, t)
	}
	if err != nil && len(got) == 0 {
		return fmt.Errorf("node %s: %w: %s", r.script, err, strings.TrimSpace(stderr.String()))
	}
	if len(got) != 1 {
		return fmt.Errorf("node %s: %d result lines, want 1: %s", r.script, len(got), strings.TrimSpace(stderr.String()))
	}
	r.trials = append(r.trials, got[0])
	return nil
}

// result folds the trials, checking Node's own answers against Go's.
func (r *nodeRun) result() results.CalcResult {
	res := results.CalcResult{Name: calcbatch.Name(ModelNode, r.workers, r.kind, r.n), Model: ModelNode, Kind: r.kind,
		N: r.n, Tasks: r.tasks, Workers: r.workers, Inflight: r.inflight, Trials: len(r.trials)}
	var p50, p99 []float64
	var wall, busy float64
	shares := make([]results.CalcWorker, r.workers)
	for i := range shares {
		shares[i].Worker = i
	}
	for i, t := range r.trials {
		res.TrialResults = append(res.TrialResults, results.CalcTrial{Trial: i + 1, DurationS: t.DurationS,
			TasksPerS: t.TasksPerS, P50Ms: t.P50Ms, P99Ms: t.P99Ms, Mismatches: t.Mismatches})
		res.TrialTasksPerS, p50, p99 = append(res.TrialTasksPerS, t.TasksPerS), append(p50, t.P50Ms), append(p99, t.P99Ms)
		wall += t.DurationS
		res.Checked += t.Checked
		res.Mismatches += t.Mismatches
		if res.FirstMismatch == "" && t.FirstMismatch != "" {
			res.FirstMismatch = fmt.Sprintf("trial %d: %s", i+1, t.FirstMismatch)
		}
		for kind, v := range t.Answers {
			want, err := workload.Compute(workload.Kind(kind), r.n)
			if err != nil || v != want {
				res.Mismatches += int64(t.Tasks)
				if res.FirstMismatch == "" {
					res.FirstMismatch = fmt.Sprintf("node's answer for %s n=%d differs from Go's (%d vs %d digits)", kind, r.n, len(v), len(want))
				}
			}
		}
		for _, w := range t.PerWorker {
			if w.Worker < 0 || w.Worker >= len(shares) {
				continue
			}
			s := &shares[w.Worker]
			s.Tasks += w.Tasks
			s.BusyMs += w.BusyMs
			busy += w.BusyMs
			if !slices.Contains(s.Pids, w.Pid) {
				s.Pids = append(s.Pids, w.Pid)
			}
		}
	}
	var total int64
	for _, s := range shares {
		total += s.Tasks
	}
	for i := range shares {
		if total > 0 {
			shares[i].Share = float64(shares[i].Tasks) / float64(total)
		}
		if wall > 0 {
			shares[i].BusyRatio = shares[i].BusyMs / 1e3 / wall
		}
	}
	if total > 0 {
		res.ComputeUs = busy * 1e3 / float64(total)
	}
	res.WorkerShares = shares
	res.TasksPerS, res.P50Ms, res.P99Ms = metrics.Estimate(res.TrialTasksPerS), metrics.Estimate(p50), metrics.Estimate(p99)
	return res
}
