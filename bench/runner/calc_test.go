//go:build linux

package runner

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/progress"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// calcEvents records Run's events as lines, a calc trial's end with the
// rate it carried.
type calcEvents struct {
	lines []string
	rates []float64 // each calc PhaseEnds's Rate
	plan  progress.Plan
}

func (c *calcEvents) event(e progress.Event) {
	switch e.Kind {
	case progress.RunStarts:
		c.plan = e.Plan
		c.lines = append(c.lines, "run")
	case progress.PhaseStarts:
		c.lines = append(c.lines, fmt.Sprintf("start calc=%v %d/%d %s", e.Calc, e.CalcN, e.Trial, e.Label))
	case progress.PhaseEnds:
		c.lines = append(c.lines, fmt.Sprintf("end calc=%v %d", e.Calc, e.CalcN))
		if e.Calc {
			c.rates = append(c.rates, e.Rate)
		}
	case progress.RunEnds:
		c.lines = append(c.lines, "run end")
	}
}

func TestRunCalcBatches(t *testing.T) {
	sc := testScenario(t)
	sc.Calc = []scenario.Calc{
		{Name: "inline-sum", Model: "inline", Workers: 1, Kind: "sum", N: 1, Tasks: 200, Trials: 2},
		{Name: "pool-mix", Model: "goroutine", Workers: 2, Kind: "mix", N: 15, Tasks: 40, Trials: 2},
	}
	sc.Calc[1].Trials = 1
	var printed strings.Builder
	var ev calcEvents
	r := &Runner{Progress: &printed, Events: ev.event}
	out, err := r.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if out.Err() != nil || !out.Run.Complete {
		t.Fatalf("run incomplete: %v", out.Err())
	}
	// Each calc trial is a phase, interleaved round by round, and the run
	// ends after them; each end carries the trial's tasks/s.
	want := []string{"run",
		"start calc=true 0/1 calc inline-sum trial 1/2", "end calc=true 0",
		"start calc=true 1/1 calc pool-mix trial 1/1", "end calc=true 1",
		"start calc=true 0/2 calc inline-sum trial 2/2", "end calc=true 0",
		"run end"}
	if !slices.Equal(ev.lines, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(ev.lines, "\n"), strings.Join(want, "\n"))
	}
	wantRates := []float64{out.Run.Calc[0].TrialTasksPerS[0], out.Run.Calc[1].TrialTasksPerS[0], out.Run.Calc[0].TrialTasksPerS[1]}
	if !slices.Equal(ev.rates, wantRates) || slices.Contains(ev.rates, 0) {
		t.Errorf("calc trial ends carried rates %v, want the trials' tasks/s %v", ev.rates, wantRates)
	}
	if want := []progress.CalcPlan{{Trials: 2, Tasks: 200}, {Trials: 1, Tasks: 40}}; !reflect.DeepEqual(ev.plan.Calc, want) {
		t.Errorf("plan's calc batches %+v, want %+v", ev.plan.Calc, want)
	}
	if len(out.Run.Calc) != 2 {
		t.Fatalf("%d calc results, want 2", len(out.Run.Calc))
	}
	for i, c := range out.Run.Calc {
		want := sc.Calc[i]
		if c.Name != want.Name || c.Model != want.Model || c.Checked != int64(want.Trials*want.Tasks) || c.Mismatches != 0 ||
			len(c.TrialTasksPerS) != want.Trials || c.TasksPerS.Median <= 0 || len(c.WorkerShares) != want.Workers {
			t.Errorf("calc[%d] = %+v", i, c)
		}
	}
	if !strings.Contains(printed.String(), "calc pool-mix") {
		t.Errorf("progress does not name the calc batches:\n%s", printed.String())
	}
}

func TestRunCalcFailureMarksTheRun(t *testing.T) {
	sc := testScenario(t)
	sc.Calc = []scenario.Calc{{Name: "broken", Model: "process", Workers: 1, Kind: "sum", N: 1, Tasks: 10, Trials: 1}}
	// A "clusterbench" that exits at once: every worker dies, the restart
	// budget runs out, and the batch fails.
	var ev calcEvents
	r := &Runner{Binary: "/bin/false", Events: ev.event}
	out, err := r.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	// It failed as it started or in its trial: either way the run's end
	// comes after, and a trial that ran ends without a rate.
	if len(ev.lines) == 0 || ev.lines[len(ev.lines)-1] != "run end" || slices.ContainsFunc(ev.rates, func(r float64) bool { return r != 0 }) {
		t.Errorf("events %q, rates %v: want the run's end last, no rate for a failed trial", ev.lines, ev.rates)
	}
	if out.Run.Complete || len(out.Failed) != 1 || !strings.Contains(out.Failed[0].Error(), "calc broken") {
		t.Fatalf("complete %v, failed %v; want the calc batch reported as failed", out.Run.Complete, out.Failed)
	}
}

func TestCalcConfigWorkerCommand(t *testing.T) {
	c := scenario.Calc{Model: "process", Kind: "sum", N: 1}
	if got := CalcConfig(c, "/x/clusterbench").WorkerCommand; len(got) != 2 || got[0] != "/x/clusterbench" || got[1] != "calc" {
		t.Errorf("worker command %v, want [/x/clusterbench calc]", got)
	}
	c.Model = "goroutine"
	if got := CalcConfig(c, "/x/clusterbench").WorkerCommand; got != nil {
		t.Errorf("goroutine model got a worker command %v", got)
	}
}
