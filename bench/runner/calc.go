package runner

import (
	"context"

	"github.com/clusterbench/clusterbench/bench/calcreport"
	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/servers/calc"
)

// CalcConfig is the calc.BatchConfig of a scenario's calc batch. A process
// pool re-executes binary as `binary calc` (the clusterbench executable);
// with binary empty it re-executes the running program.
func CalcConfig(c scenario.Calc, binary string) calc.BatchConfig {
	cfg := calc.BatchConfig{Model: c.Model, Workers: c.Workers, Kind: c.Kind, N: c.N, Tasks: c.Tasks,
		Inflight: c.Inflight, Trials: c.Trials}
	if c.Model == calc.ModelProcess && binary != "" {
		cfg.WorkerCommand = []string{binary, calc.DefaultWorkerArg}
	}
	return cfg
}

// runCalc runs the calc batches of sc one after the other, appending each
// to out.Run.Calc. A batch that fails, or returns a wrong result, is a
// failure of the run (out.Failed, named "calc NAME"); what it measured
// before is kept.
func (r *Runner) runCalc(ctx context.Context, sc *scenario.Scenario, out *Outcome) {
	for _, c := range sc.Calc {
		if ctx.Err() != nil {
			return
		}
		r.progress("%s: calc %s\n", sc.Name, c.Name)
		rep, err := calc.RunBatch(ctx, CalcConfig(c, r.Binary))
		if rep.Model != "" {
			out.Run.Calc = append(out.Run.Calc, calcreport.Result(c.Name, rep))
			r.progress("%s: calc %-24s %12.0f tasks/s  p50 %9.1fµs  p99 %9.1fµs  crashes %d  wrong %d\n",
				sc.Name, c.Name, rep.TasksPerS.Median, 1e3*rep.P50Ms.Median, 1e3*rep.P99Ms.Median, len(rep.Crashes), rep.Mismatches)
		}
		if err != nil && ctx.Err() == nil {
			se := &ServerError{Server: "calc " + c.Name, Err: err}
			out.Failed = append(out.Failed, se)
			out.Run.Warnings = append(out.Run.Warnings, se.Error())
			r.progress("%s: %v\n", sc.Name, se)
		}
	}
}
