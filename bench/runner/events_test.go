//go:build linux

package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEvents: Run reports every step in order, a failed server included,
// and the Live of a trial counts, by the trial's end, what the trial
// measured (and reads 0 as it begins).
func TestEvents(t *testing.T) {
	sc := testScenario(t, "exit", "server")
	sc.Load.Trials = 2
	var got []string
	var live LiveCount
	r := &Runner{StartTimeout: 10 * time.Second, Events: func(e Event) {
		if e.Scenario != sc {
			t.Errorf("event %d: scenario %p, want %p", e.Kind, e.Scenario, sc)
		}
		switch e.Kind {
		case RunStarts:
			got = append(got, "run")
		case ServerStarts:
			got = append(got, fmt.Sprintf("server %d %s", e.ServerN, e.Server))
		case WarmupStarts:
			got = append(got, fmt.Sprintf("warmup %s c%d (%d)", e.Server, e.Level, e.LevelN))
			live = e.Live
		case TrialStarts:
			got = append(got, fmt.Sprintf("trial %s c%d (%d) %d", e.Server, e.Level, e.LevelN, e.Trial))
			live = e.Live
			if req, errs := live.Count(); req != 0 || errs != 0 {
				t.Errorf("trial %d at c%d begins with a count of %d requests, %d errors; want a fresh count", e.Trial, e.Level, req, errs)
			}
		case TrialEnds:
			got = append(got, fmt.Sprintf("end %s c%d %d", e.Server, e.Level, e.Trial))
			if e.Result == nil || live == nil {
				t.Fatalf("trial end %+v without a result, or no Live given at its start", e)
			}
			req, errs := live.Count()
			if req != e.Result.Requests || errs != e.Result.Requests-e.Result.Successes || req == 0 {
				t.Errorf("trial %d at c%d: live count %d requests, %d errors; the trial %d requests, %d successes",
					e.Trial, e.Level, req, errs, e.Result.Requests, e.Result.Successes)
			}
		case ServerEnds:
			got = append(got, fmt.Sprintf("server end %d %s", e.ServerN, e.Server))
		case RunEnds:
			got = append(got, "run end")
		default:
			t.Errorf("unknown event %+v", e)
		}
	}}
	if _, err := r.Run(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	want := []string{"run", "server 0 exit", "server end 0 exit", "server 1 server"}
	for li, c := range sc.Load.Levels {
		want = append(want, fmt.Sprintf("warmup server c%d (%d)", c, li))
		for k := 1; k <= 2; k++ {
			want = append(want, fmt.Sprintf("trial server c%d (%d) %d", c, li, k), fmt.Sprintf("end server c%d %d", c, k))
		}
	}
	want = append(want, "server end 1 server", "run end")
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
