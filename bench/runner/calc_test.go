//go:build linux

package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/scenario"
)

func TestRunCalcBatches(t *testing.T) {
	sc := testScenario(t)
	sc.Calc = []scenario.Calc{
		{Name: "inline-sum", Model: "inline", Workers: 1, Kind: "sum", N: 1, Tasks: 200, Trials: 2},
		{Name: "pool-mix", Model: "goroutine", Workers: 2, Kind: "mix", N: 15, Tasks: 40, Trials: 2},
	}
	var progress strings.Builder
	r := &Runner{Progress: &progress}
	out, err := r.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if out.Err() != nil || !out.Run.Complete {
		t.Fatalf("run incomplete: %v", out.Err())
	}
	if len(out.Run.Calc) != 2 {
		t.Fatalf("%d calc results, want 2", len(out.Run.Calc))
	}
	for i, c := range out.Run.Calc {
		want := sc.Calc[i]
		if c.Name != want.Name || c.Model != want.Model || c.Checked != int64(2*want.Tasks) || c.Mismatches != 0 ||
			len(c.TrialTasksPerS) != 2 || c.TasksPerS.Median <= 0 || len(c.WorkerShares) != want.Workers {
			t.Errorf("calc[%d] = %+v", i, c)
		}
	}
	if !strings.Contains(progress.String(), "calc pool-mix") {
		t.Errorf("progress does not name the calc batches:\n%s", progress.String())
	}
}

func TestRunCalcFailureMarksTheRun(t *testing.T) {
	sc := testScenario(t)
	sc.Calc = []scenario.Calc{{Name: "broken", Model: "process", Workers: 1, Kind: "sum", N: 1, Tasks: 10, Trials: 1}}
	// A "clusterbench" that exits at once: every worker dies, the restart
	// budget runs out, and the batch fails.
	r := &Runner{Binary: "/bin/false"}
	out, err := r.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
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
