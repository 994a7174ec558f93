package runner

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// BenchmarkRunCalcTrials is the runner's calc loop over one batch of
// tiny trials (one inline task each), with progress lines written, so
// that the loop's own cost per trial shows: it must not grow with the
// number of trials already run.
func BenchmarkRunCalcTrials(b *testing.B) {
	for _, trials := range []int{10, 100} {
		b.Run("trials="+strconv.Itoa(trials), func(b *testing.B) {
			sc := &scenario.Scenario{Name: "bench", Calc: []scenario.Calc{
				{Name: "inline-sum", Model: "inline", Workers: 1, Kind: "sum", N: 1, Tasks: 1, Trials: trials}}}
			r := &Runner{Progress: io.Discard}
			for b.Loop() {
				out := &Outcome{Run: &results.Run{}}
				r.runCalc(context.Background(), sc, out)
				if len(out.Failed) > 0 || len(out.Run.Calc) != 1 || out.Run.Calc[0].Trials != trials {
					b.Fatalf("failed %v, calc %+v", out.Failed, out.Run.Calc)
				}
			}
		})
	}
}
