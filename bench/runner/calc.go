package runner

import (
	"context"
	"fmt"

	"github.com/clusterbench/clusterbench/bench/calcbatch"
	"github.com/clusterbench/clusterbench/bench/progress"
	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/servers/calc"
)

// CalcConfig is the calcbatch.Config of a scenario's calc batch. A process
// pool re-executes binary as `binary calc` (the clusterbench executable);
// with binary empty it re-executes the running program.
func CalcConfig(c scenario.Calc, binary string) calcbatch.Config {
	cfg := calcbatch.Config{Name: c.Name, Model: c.Model, Workers: c.Workers, Kind: c.Kind, N: c.N, Tasks: c.Tasks,
		Inflight: c.Inflight, Trials: c.Trials}
	if c.Model == calc.ModelProcess && binary != "" {
		cfg.WorkerCommand = []string{binary, calc.DefaultWorkerArg}
	}
	return cfg
}

// runCalc runs the calc batches of sc with their trials interleaved (every
// batch's trial 1, then every batch's trial 2, …) so that a drift of the
// machine's load touches them alike, and appends each to out.Run.Calc. A
// batch that fails, or returns a wrong result, is a failure of the run
// (out.Failed, named "calc NAME"); what it measured before is kept.
//
// It is its own loop, not calcbatch.Interleave (which `clusterbench calc`
// uses), because a scenario's batches differ in their trial counts, a
// failed batch must not stop the others, and every trial is a progress
// phase with its own events.
func (r *Runner) runCalc(ctx context.Context, sc *scenario.Scenario, out *Outcome) {
	if len(sc.Calc) == 0 {
		return
	}
	type batch struct {
		c   scenario.Calc
		b   *calcbatch.Batch
		err error
	}
	batches := make([]*batch, len(sc.Calc))
	defer func() {
		for _, x := range batches {
			if x.b != nil {
				x.b.Close()
			}
		}
	}()
	rounds := 0
	for i, c := range sc.Calc {
		x := &batch{c: c}
		batches[i] = x
		if ctx.Err() != nil {
			continue
		}
		r.progress("%s: calc %s: starting %d %s worker(s)\n", sc.Name, c.Name, max(c.Workers, 1), c.Model)
		x.b, x.err = calcbatch.New(ctx, CalcConfig(c, r.Binary))
		rounds = max(rounds, c.Trials)
	}
	for t := 1; t <= rounds && ctx.Err() == nil; t++ {
		for i, x := range batches {
			if x.b == nil || x.err != nil || t > x.c.Trials || ctx.Err() != nil {
				continue
			}
			r.event(progress.Event{Kind: progress.PhaseStarts, Calc: true, CalcN: i, Trial: t,
				Label: fmt.Sprintf("calc %s trial %d/%d", x.c.Name, t, x.c.Trials)})
			x.err = x.b.Trial(ctx)
			end := progress.Event{Kind: progress.PhaseEnds, Calc: true, CalcN: i} // Rate 0: nothing measured
			if last, ok := x.b.Last(); x.err == nil && ok {
				end.Rate = last.TasksPerS
				r.progress("%s: calc %-24s trial %d/%d %12.0f tasks/s  p50 %9.1fµs  p99 %9.1fµs  crashes %d  wrong %d\n",
					sc.Name, x.c.Name, t, x.c.Trials, last.TasksPerS, 1e3*last.P50Ms, 1e3*last.P99Ms, last.Crashes, last.Mismatches)
			}
			r.event(end)
		}
	}
	for _, x := range batches {
		if x.b != nil {
			if res := x.b.Result(); res.Trials > 0 {
				out.Run.Calc = append(out.Run.Calc, res)
			}
			if x.err == nil {
				x.err = x.b.Err()
			}
		}
		if x.err != nil && ctx.Err() == nil {
			se := &ServerError{Server: "calc " + x.c.Name, Err: x.err}
			out.Failed = append(out.Failed, se)
			out.Run.Warnings = append(out.Run.Warnings, se.Error())
			r.progress("%s: %v\n", sc.Name, se)
		}
	}
}
