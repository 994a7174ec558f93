package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/gate"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// BaselineDir is where committed baselines live.
const BaselineDir = "results"

type compareOptions struct {
	gate           gateOptions
	base           string
	head           string
	allowDifferent bool
}

var compareHelp = cmdHelp{
	Usage: "clusterbench compare BASE HEAD [flags]",
	About: `Gates the per-trial samples of two saved runs of the same scenario. BASE and HEAD are run
directories, summary.json files, or names of committed baselines under ` + BaselineDir + `/.
Two runs measured apart follow the machine's load as much as the code: prefer
'clusterbench ab', which interleaves the two on the same machine.`,
	Examples: []string{
		"clusterbench compare results/runs/20261130T160000Z-hello results/runs/20261130T170000Z-hello",
		"clusterbench compare gate-baseline results/runs/20261130T170000Z-gate --metrics cpu",
		"clusterbench compare gate-baseline results/runs/20261130T170000Z-gate --html gate.html",
	},
	Exits: []string{exitOKLine + ": no regression (or inconclusive, without --strict)", exitRegressionLine, exitUsageLine,
		exitMeasurementLine + "; or inconclusive under --strict"},
}

func parseCompare(stdout io.Writer, args []string) (compareOptions, error) {
	var o compareOptions
	fs := newFlags("compare")
	fs.BoolVar(&o.allowDifferent, "allow-different", false, "compare runs of different scenarios anyway; every output names the differences")
	addGateFlags(fs, &o.gate)
	if err := parseFlags(fs, compareHelp, stdout, args); err != nil {
		return o, err
	}
	if fs.NArg() != 2 {
		return o, usageError("compare takes two arguments, BASE and HEAD (got %d)", fs.NArg())
	}
	o.base, o.head = fs.Arg(0), fs.Arg(1)
	return o, o.gate.validate()
}

func runCompare(_ context.Context, stdout, stderr io.Writer, args []string) error {
	o, err := parseCompare(stdout, args)
	if err != nil {
		return err
	}
	base, basePath, err := loadRun(o.base)
	if err != nil {
		return err
	}
	head, headPath, err := loadRun(o.head)
	if err != nil {
		return err
	}
	metrics, notes, err := pairRuns(base, head, o.gate.defs(base.Load.Mode), o.allowDifferent)
	if err != nil {
		return err
	}
	rep, err := gate.Evaluate(metrics, o.gate.opts)
	if err != nil {
		return measurementError(err)
	}
	l := gate.Labels{
		Title:      fmt.Sprintf("compare %s (scenario %s)", head.Scenario.Name, base.Scenario.Name),
		Bench:      "Compare/scenario=" + base.Scenario.Name,
		Base:       describeRun(basePath, base),
		Head:       describeRun(headPath, head),
		Notes:      notes,
		BaseConfig: armConfig(base),
		HeadConfig: armConfig(head),
	}
	if d := scenarioDiffs(base, head); len(d) > 0 {
		l.Config = append(l.Config, [2]string{"different-scenarios", strings.Join(d, "; ")})
	}
	if base.Scenario.Name == head.Scenario.Name {
		l.Title = "compare scenario " + base.Scenario.Name
	}
	return o.gate.emit(stdout, rep, l)
}

// loadRun reads a saved run: a run directory, a summary.json file, or a
// committed baseline under results/ named with or without .json.
func loadRun(arg string) (results.Run, string, error) {
	var candidates []string
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		candidates = []string{filepath.Join(arg, results.FileName)}
	} else if err == nil {
		candidates = []string{arg}
	} else {
		candidates = []string{
			filepath.Join(BaselineDir, arg, results.FileName),
			filepath.Join(BaselineDir, arg),
			filepath.Join(BaselineDir, arg+".json"),
		}
	}
	var path string
	var data []byte
	var err error
	for _, c := range candidates {
		path = c
		if data, err = os.ReadFile(c); err == nil {
			break
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return results.Run{}, "", usageError("%s: no saved run there (allowed: a run directory, a %s file, or a baseline under %s/; tried %s)",
				arg, results.FileName, BaselineDir, strings.Join(candidates, ", "))
		}
		return results.Run{}, "", measurementError(fmt.Errorf("read %s: %w", path, err))
	}
	var run results.Run
	if err := json.Unmarshal(data, &run); err != nil {
		return results.Run{}, "", measurementError(fmt.Errorf("%s: not a clusterbench run: %w", path, err))
	}
	switch {
	case run.Schema == 0:
		return results.Run{}, "", measurementError(fmt.Errorf("%s: not a clusterbench run (no schema field)", path))
	case run.Schema > results.Schema:
		return results.Run{}, "", measurementError(fmt.Errorf("%s: schema %d is newer than this build reads (%d); update clusterbench", path, run.Schema, results.Schema))
	case len(run.Trials) == 0:
		return results.Run{}, "", measurementError(fmt.Errorf("%s: the run has no trials to compare", path))
	}
	return run, path, nil
}

// armConfig labels one side of a comparison in the Go benchmark format:
// its own scenario and commit.
func armConfig(r results.Run) [][2]string {
	c := [][2]string{{"scenario", r.Scenario.Name}}
	if r.Env.GitCommit != "" {
		commit := r.Env.GitCommit
		if r.Env.GitDirty {
			commit += "+dirty"
		}
		c = append(c, [2]string{"commit", commit})
	}
	return c
}

func describeRun(path string, r results.Run) string {
	s := fmt.Sprintf("%s (%s, %d trials", path, r.Started.UTC().Format("2006-01-02 15:04Z"), len(r.Trials))
	if r.Env.GitCommit != "" {
		c := r.Env.GitCommit
		if len(c) > 12 {
			c = c[:12]
		}
		s += ", commit " + c
		if r.Env.GitDirty {
			s += "+dirty"
		}
	}
	return s + ")"
}

type groupKey struct {
	server string
	level  int
}

func groupTrials(ts []results.Trial) (map[groupKey][]results.Trial, []groupKey) {
	m := map[groupKey][]results.Trial{}
	var order []groupKey
	for _, t := range ts {
		k := groupKey{t.Server, t.Level}
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = append(m[k], t)
	}
	return m, order
}

// scenarioDiffs lists, one line each, what differs between the
// scenarios two runs measured: servers, requests and weights, load mode,
// levels, keep-alive, durations, engine. Their names may differ.
func scenarioDiffs(b, h results.Run) []string {
	var d []string
	diff := func(what string, bv, hv any) {
		if fmt.Sprint(bv) != fmt.Sprint(hv) {
			d = append(d, fmt.Sprintf("%s: base %v, head %v", what, bv, hv))
		}
	}
	servers := func(r results.Run) []string {
		var out []string
		for _, s := range r.Servers {
			x := s.Name
			if s.Model != "" {
				x += fmt.Sprintf("(model %s", s.Model)
				if s.Workers > 0 {
					x += fmt.Sprintf(", %d workers", s.Workers)
				}
				if s.Balance != "" {
					x += ", balance " + s.Balance
				}
				x += ")"
			}
			if len(s.Env) > 0 {
				x += fmt.Sprintf(" env %v", s.Env)
			}
			out = append(out, x)
		}
		return out
	}
	requests := func(r results.Run) []string {
		var out []string
		for _, q := range r.Load.Requests {
			out = append(out, fmt.Sprintf("%s %s ×%d", q.Method, q.Path, q.Weight))
		}
		return out
	}
	engine := func(r results.Run) string {
		if r.Load.Engine == "" {
			return "vegeta" // runs saved before the lean engine
		}
		return r.Load.Engine
	}
	if b.Complete && h.Complete {
		// An incomplete run lacks the servers that failed: only complete
		// runs say which servers their scenario had.
		diff("servers", servers(b), servers(h))
	} else {
		for _, bs := range b.Servers {
			for _, hs := range h.Servers {
				if bs.Name == hs.Name {
					diff("server "+bs.Name, servers(results.Run{Servers: []results.Server{bs}}), servers(results.Run{Servers: []results.Server{hs}}))
				}
			}
		}
	}
	diff("requests", requests(b), requests(h))
	diff("load mode", b.Load.Mode, h.Load.Mode)
	diff("levels", b.Load.Levels, h.Load.Levels)
	diff("keep-alive", b.Load.KeepAlive, h.Load.KeepAlive)
	diff("duration", secs(b.Load.DurationS), secs(h.Load.DurationS))
	diff("warm-up", secs(b.Load.WarmupS), secs(h.Load.WarmupS))
	diff("requests per trial", b.Load.RequestsPerTrial, h.Load.RequestsPerTrial)
	diff("engine", engine(b), engine(h))
	diff("expected status codes", b.Load.ExpectStatus, h.Load.ExpectStatus)
	return d
}

func secs(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}

// pairRuns matches the servers × levels of two runs and builds the
// metrics to gate, with notes on anything that weakens the comparison.
// Servers match by name; when each run has exactly one server, they
// match whatever their names.
func pairRuns(base, head results.Run, defs []gate.Def, allowDifferent bool) ([]gate.Metric, []string, error) {
	notes := machineNotes(base.Env, head.Env)
	if diffs := scenarioDiffs(base, head); len(diffs) > 0 {
		if !allowDifferent {
			return nil, nil, usageError("base and head measured different scenarios; their figures are not comparable (allowed: two runs of the same scenario, or --allow-different to compare anyway):\n  %s",
				strings.Join(diffs, "\n  "))
		}
		notes = append([]string{"DIFFERENT SCENARIOS (--allow-different): " + strings.Join(diffs, "; ")}, notes...)
	}
	if base.Load.Mode != head.Load.Mode {
		// Level 400 is a rate in one and a concurrency in the other.
		return nil, nil, usageError("base was measured in %s loop and head in %s loop: their levels are not comparable (allowed: two runs of the same load mode)",
			base.Load.Mode, head.Load.Mode)
	}
	if !slices.Equal(base.Load.Levels, head.Load.Levels) {
		notes = append(notes, "only the levels both runs measured are compared")
	}
	for _, r := range []struct {
		arm string
		run results.Run
	}{{"base", base}, {"head", head}} {
		if !r.run.Complete {
			notes = append(notes, fmt.Sprintf("the %s run is incomplete: %s", r.arm, r.run.Incomplete))
		}
	}
	bg, border := groupTrials(base.Trials)
	hg, horder := groupTrials(head.Trials)
	single := len(base.Servers) <= 1 && len(head.Servers) <= 1 && uniqueServers(border) && uniqueServers(horder)
	var ms []gate.Metric
	var groups, missing []string
	matched := 0
	for _, bk := range border {
		hk := bk
		if single && len(horder) > 0 {
			hk.server = horder[0].server
		}
		ht, ok := hg[hk]
		group := fmt.Sprintf("%s@%d", bk.server, bk.level)
		if hk.server != bk.server {
			group = fmt.Sprintf("%s→%s@%d", bk.server, hk.server, bk.level)
		}
		if ok {
			matched++
		} else {
			missing = append(missing, group)
		}
		groups = append(groups, group)
		// A group that head lacks (its server did not start, the run was
		// cut short) gets no head samples: its metrics are failed, never
		// left out of the gate.
		for _, m := range gate.FromTrials(defs, metrics.Measured(bg[bk]), metrics.Measured(ht)) {
			m.Group = group
			ms = append(ms, m)
		}
	}
	if matched == 0 {
		return nil, nil, usageError("the runs share no server and level to compare (base: %s; head: %s)", keysString(border), keysString(horder))
	}
	if len(missing) > 0 {
		notes = append(notes, fmt.Sprintf("head has no trials of %s, which base has", strings.Join(missing, ", ")))
	}
	if len(groups) == 1 {
		for i := range ms {
			ms[i].Group = ""
		}
		notes = append(notes, "compared "+groups[0])
	}
	return ms, notes, nil
}

func uniqueServers(ks []groupKey) bool {
	for _, k := range ks {
		if k.server != ks[0].server {
			return false
		}
	}
	return true
}

func keysString(ks []groupKey) string {
	var s []string
	for _, k := range ks {
		s = append(s, fmt.Sprintf("%s@%d", k.server, k.level))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// machineNotes says plainly when two runs come from different machines
// or environments, naming each difference: hostname, CPU model, CPUs,
// kernel, Go version, the generator's GOMAXPROCS, and the pinning.
func machineNotes(b, h results.Environment) []string {
	var diffs []string
	diff := func(what string, bv, hv any) {
		if bv != hv {
			diffs = append(diffs, fmt.Sprintf("%s %q vs %q", what, fmt.Sprint(bv), fmt.Sprint(hv)))
		}
	}
	diff("hostname", b.Hostname, h.Hostname)
	diff("CPU", b.CPUModel, h.CPUModel)
	diff("CPUs", b.CPUs, h.CPUs)
	diff("kernel", b.Kernel, h.Kernel)
	diff("Go", b.GoVersion, h.GoVersion)
	diff("GOMAXPROCS", b.GOMAXPROCS, h.GOMAXPROCS)
	var notes []string
	if len(diffs) > 0 {
		notes = append(notes, "base and head come from DIFFERENT MACHINES OR ENVIRONMENTS ("+strings.Join(diffs, "; ")+
			"): such differences are often 5-10% or more and look like regressions, so this comparison is weak; "+
			"measure both on one machine with `clusterbench ab`")
	} else {
		notes = append(notes, "base and head were measured separately on the same machine (hostname, CPU, CPUs, kernel, Go, GOMAXPROCS alike), not interleaved: "+
			"drift between the two runs counts as a change (`clusterbench ab` interleaves)")
	}
	// The CPU lists decide; the free-text Pinning description may differ
	// between versions for the same lists.
	if b.ServerCPUs != h.ServerCPUs || b.ClientCPUs != h.ClientCPUs || (b.ServerCPUs == "" && b.ClientCPUs == "" && b.Pinning != h.Pinning) {
		notes = append(notes, fmt.Sprintf("CPU pinning differs: servers on %q, load generator on %q vs servers on %q, load generator on %q (%s vs %s)",
			b.ServerCPUs, b.ClientCPUs, h.ServerCPUs, h.ClientCPUs, b.Pinning, h.Pinning))
	}
	return notes
}
