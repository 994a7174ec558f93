package metrics

import (
	"reflect"
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
)

func TestFairness(t *testing.T) {
	tests := []struct {
		name     string
		counts   []int64
		expected int
		want     results.Fairness
	}{
		{"nothing", nil, 0, results.Fairness{}},
		{"no requests, 4 expected", []int64{0, 0}, 4, results.Fairness{}},
		{"even", []int64{10, 10, 10, 10}, 0, results.Fairness{Workers: 4, MaxOverMean: 1, Jain: 1}},
		{"even, expected matches", []int64{10, 10, 10, 10}, 4, results.Fairness{Workers: 4, MaxOverMean: 1, Jain: 1}},
		{"expected below seen is ignored", []int64{10, 10}, 1, results.Fairness{Workers: 2, MaxOverMean: 1, Jain: 1}},
		{"one of four took all", []int64{40}, 4, results.Fairness{Workers: 1, MaxOverMean: 4, Jain: 0.25}},
		{"one seen, unknown expected", []int64{40}, 0, results.Fairness{Workers: 1, MaxOverMean: 1, Jain: 1}},
		{"3:1", []int64{30, 10}, 0, results.Fairness{Workers: 2, MaxOverMean: 1.5, Jain: 0.8}},
		{"1,2,3", []int64{1, 2, 3}, 0, results.Fairness{Workers: 3, MaxOverMean: 1.5, Jain: 36.0 / 42}},
		{"negative counts as zero", []int64{-5, 10}, 0, results.Fairness{Workers: 1, MaxOverMean: 2, Jain: 0.5}},
		{"zero worker seen", []int64{0, 10}, 0, results.Fairness{Workers: 1, MaxOverMean: 2, Jain: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fairness(tt.counts, tt.expected)
			if got.Workers != tt.want.Workers || !close(got.MaxOverMean, tt.want.MaxOverMean) || !close(got.Jain, tt.want.Jain) {
				t.Errorf("Fairness(%v, %d) = %+v, want %+v", tt.counts, tt.expected, got, tt.want)
			}
		})
	}
}

func TestWorkerFairness(t *testing.T) {
	ws := []results.Worker{{ID: "0", Requests: 30}, {ID: "1", Requests: 10}}
	if got, want := WorkerFairness(ws, 0), (results.Fairness{Workers: 2, MaxOverMean: 1.5, Jain: 0.8}); got != want {
		t.Errorf("WorkerFairness = %+v, want %+v", got, want)
	}
	// Two workers with 100 each are perfectly even, whatever number of
	// responses named no worker (UnknownWorker) or fell in OtherWorker.
	ws = []results.Worker{{ID: "0", Requests: 100}, {ID: "1", Requests: 100}, {ID: UnknownWorker, Requests: 50}, {ID: OtherWorker, Requests: 7}}
	if got, want := WorkerFairness(ws, 2), (results.Fairness{Workers: 2, MaxOverMean: 1, Jain: 1}); got != want {
		t.Errorf("WorkerFairness with catch-all tallies = %+v, want %+v", got, want)
	}
}

func TestSetShares(t *testing.T) {
	ws := []results.Worker{{Requests: 1}, {Requests: 3}, {Requests: 0}}
	SetShares(ws)
	if ws[0].Share != 0.25 || ws[1].Share != 0.75 || ws[2].Share != 0 {
		t.Errorf("shares = %v %v %v, want 0.25 0.75 0", ws[0].Share, ws[1].Share, ws[2].Share)
	}
	none := []results.Worker{{Requests: 0, Share: 0.5}}
	SetShares(none)
	if none[0].Share != 0 {
		t.Errorf("share with no requests = %v, want 0", none[0].Share)
	}
}

func TestSortWorkers(t *testing.T) {
	ws := []results.Worker{{ID: "?"}, {ID: "10"}, {ID: "b"}, {ID: "2"}, {ID: "0"}, {ID: "a"}}
	SortWorkers(ws)
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.ID)
	}
	if want := []string{"0", "2", "10", "?", "a", "b"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("order = %v, want %v", ids, want)
	}
}

func TestMergeWorkers(t *testing.T) {
	a := []results.Worker{
		{ID: "1", Pids: []int{20}, Requests: 10, Connections: 2, Errors: 1, P50Ms: 1, P99Ms: 10},
		{ID: "0", Pids: []int{10}, Requests: 30, Connections: 1, P50Ms: 2, P99Ms: 20},
	}
	b := []results.Worker{
		{ID: "1", Pids: []int{21, 20}, Requests: 20, Connections: 3, P50Ms: 3, P99Ms: 30},
	}
	c := []results.Worker{
		{ID: "1", Pids: []int{20}, Requests: 20, Connections: 1, P50Ms: 5, P99Ms: 50},
		{ID: "?", Requests: 20, Errors: 20},
	}
	aCopy := append([]results.Worker(nil), a...)
	got := MergeWorkers(a, b, c)
	want := []results.Worker{
		{ID: "0", Pids: []int{10}, Requests: 30, Connections: 1, Share: 0.3, P50Ms: 2, P99Ms: 20},
		{ID: "1", Pids: []int{20, 21}, Requests: 50, Connections: 6, Errors: 1, Share: 0.5, P50Ms: 3, P99Ms: 30},
		{ID: "?", Requests: 20, Errors: 20, Share: 0.2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeWorkers =\n%+v\nwant\n%+v", got, want)
	}
	if !reflect.DeepEqual(a, aCopy) {
		t.Errorf("MergeWorkers modified its input: %+v", a)
	}
	if got := MergeWorkers(); len(got) != 0 {
		t.Errorf("MergeWorkers() = %v, want empty", got)
	}
}

func TestRateShortfall(t *testing.T) {
	tests := []struct {
		target, achieved float64
		want             bool
	}{
		{0, 0, false}, // closed loop
		{1000, 1000, false},
		{1000, 950, false}, // exactly at the tolerance
		{1000, 949, true},
		{1000, 1200, false},
		{-1, 0, false},
	}
	for _, tt := range tests {
		if got := RateShortfall(tt.target, tt.achieved); got != tt.want {
			t.Errorf("RateShortfall(%v, %v) = %v, want %v", tt.target, tt.achieved, got, tt.want)
		}
	}
}
