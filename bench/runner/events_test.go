//go:build linux

package runner

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/progress"
)

// TestEvents: Run reports every step in order, a failed server included,
// with the plan of the scenario; each phase gets a fresh running count
// (0 as it begins), which counts, by the trial's end, what the trial
// measured.
func TestEvents(t *testing.T) {
	sc := testScenario(t, "exit", "server")
	sc.Load.Trials = 2
	var got []string
	var live progress.Counter
	type end struct {
		requests, errors int64
		rate             float64
	}
	var ends []end // at each trial's end: the live count and the rate
	r := &Runner{StartTimeout: 10 * time.Second}
	r.Events = func(e progress.Event) {
		switch e.Kind {
		case progress.RunStarts:
			got = append(got, "run "+e.Name)
			if want := progress.PlanOf(sc); !reflect.DeepEqual(e.Plan, want) {
				t.Errorf("plan %+v, want %+v", e.Plan, want)
			}
		case progress.ServerStarts:
			got = append(got, fmt.Sprintf("server %d %s", e.ServerN, e.Server))
		case progress.PhaseStarts:
			got = append(got, fmt.Sprintf("phase %s warm-up %v", e.Label, e.Warmup))
			live = e.Live
			if req, errs := live.Count(); req != 0 || errs != 0 {
				t.Errorf("%s begins with a count of %d requests, %d errors; want a fresh count", e.Label, req, errs)
			}
		case progress.PhaseEnds:
			req, errs := live.Count()
			ends = append(ends, end{req, errs, e.Rate})
			got = append(got, "end")
		case progress.ServerEnds:
			got = append(got, fmt.Sprintf("server end %d", e.ServerN))
		case progress.RunEnds:
			got = append(got, "run end")
		default:
			t.Errorf("unknown event %+v", e)
		}
	}
	out, err := r.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(ends) != len(out.Run.Trials) {
		t.Fatalf("%d trial ends reported, %d trials measured", len(ends), len(out.Run.Trials))
	}
	for i, tr := range out.Run.Trials {
		e := ends[i]
		if e.requests != tr.Requests || e.errors != tr.Requests-tr.Successes || e.requests == 0 || e.rate != float64(tr.Requests)/tr.DurationS {
			t.Errorf("trial %d at c%d: at its end live count %d requests, %d errors, rate %v; the trial %d requests, %d successes in %vs",
				tr.Trial, tr.Level, e.requests, e.errors, e.rate, tr.Requests, tr.Successes, tr.DurationS)
		}
	}
	want := []string{"run runner-test", "server 0 exit", "server end 0", "server 1 server"}
	for _, c := range sc.Load.Levels {
		want = append(want, fmt.Sprintf("phase concurrency %d warm-up warm-up true", c))
		for k := 1; k <= 2; k++ {
			want = append(want, fmt.Sprintf("phase concurrency %d trial %d/2 warm-up false", c, k), "end")
		}
	}
	want = append(want, "server end 1", "run end")
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
