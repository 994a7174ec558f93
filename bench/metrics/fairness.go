package metrics

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Fairness measures how evenly requests spread over a server's workers.
// counts holds the requests each observed worker answered; expected is how
// many workers the server runs (0 = unknown). When expected exceeds
// len(counts) the workers never seen count as zero, so a child that got no
// traffic lowers the figures instead of vanishing from them.
//
// Over n = max(len(counts), expected) workers with mean m:
//
//	MaxOverMean = max(counts) / m            1 = perfectly even, n = one worker took all
//	Jain        = (Σx)² / (n · Σx²)          1 = perfectly even, 1/n = one worker took all
//	Workers     = workers with a count > 0
//
// Negative counts are treated as 0. With no requests at all both figures
// are 0.
func Fairness(counts []int64, expected int) results.Fairness {
	n := max(len(counts), expected)
	var sum, sumSq, hi float64
	seen := 0
	for _, c := range counts {
		if c <= 0 {
			continue
		}
		x := float64(c)
		seen++
		sum += x
		sumSq += x * x
		hi = max(hi, x)
	}
	f := results.Fairness{Workers: seen}
	if sum == 0 {
		return f
	}
	mean := sum / float64(n)
	f.MaxOverMean = hi / mean
	f.Jain = sum * sum / (float64(n) * sumSq)
	return f
}

// WorkerFairness is Fairness over the Requests of the workers in ws. The
// catch-all tallies UnknownWorker (responses that named no worker: refused,
// failed or timed-out requests) and OtherWorker (IDs beyond MaxWorkers) are
// not workers and are left out: counted as one, they would lower the
// figures of a perfectly even server.
func WorkerFairness(ws []results.Worker, expected int) results.Fairness {
	counts := make([]int64, 0, len(ws))
	for _, w := range ws {
		if w.ID == UnknownWorker || w.ID == OtherWorker {
			continue
		}
		counts = append(counts, w.Requests)
	}
	return Fairness(counts, expected)
}

// SetShares fills each worker's Share: its Requests over the sum of
// Requests (all 0 when there were none).
func SetShares(ws []results.Worker) {
	var total int64
	for _, w := range ws {
		total += max(w.Requests, 0)
	}
	for i := range ws {
		if total > 0 {
			ws[i].Share = float64(max(ws[i].Requests, 0)) / float64(total)
		} else {
			ws[i].Share = 0
		}
	}
}

// MergeWorkers merges the per-worker tallies of several trials into one
// list keyed by worker ID: Requests, Connections and Errors are summed,
// Pids are united (sorted), Share is recomputed over the merged Requests,
// and P50Ms/P99Ms are the median of the per-trial values of the trials in
// which the worker appeared (a caller holding the latency histograms may
// overwrite them with pooled percentiles). The result is sorted by
// SortWorkers; the inputs are not modified.
func MergeWorkers(sets ...[]results.Worker) []results.Worker {
	type acc struct {
		w        results.Worker
		p50, p99 []float64
	}
	byID := map[string]*acc{}
	var order []string
	for _, set := range sets {
		for _, w := range set {
			a, ok := byID[w.ID]
			if !ok {
				a = &acc{w: results.Worker{ID: w.ID}}
				byID[w.ID] = a
				order = append(order, w.ID)
			}
			a.w.Requests += w.Requests
			a.w.Connections += w.Connections
			a.w.Errors += w.Errors
			for _, p := range w.Pids {
				if !slices.Contains(a.w.Pids, p) {
					a.w.Pids = append(a.w.Pids, p)
				}
			}
			a.p50 = append(a.p50, w.P50Ms)
			a.p99 = append(a.p99, w.P99Ms)
		}
	}
	out := make([]results.Worker, 0, len(order))
	for _, id := range order {
		a := byID[id]
		slices.Sort(a.w.Pids)
		a.w.P50Ms = Median(a.p50) // never empty: a worker is listed once seen
		a.w.P99Ms = Median(a.p99)
		out = append(out, a.w)
	}
	SetShares(out)
	SortWorkers(out)
	return out
}

// SortWorkers orders workers by ID: numeric IDs first in numeric order
// ("2" before "10"), then the rest (such as "?") in string order.
func SortWorkers(ws []results.Worker) {
	slices.SortStableFunc(ws, func(a, b results.Worker) int {
		ai, aErr := strconv.Atoi(a.ID)
		bi, bErr := strconv.Atoi(b.ID)
		switch {
		case aErr == nil && bErr == nil:
			return cmp.Compare(ai, bi)
		case aErr == nil:
			return -1
		case bErr == nil:
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// ShortfallTolerance is how far below the asked rate an open-loop trial
// may fall before it is flagged (results.Trial.RateShortfall).
const ShortfallTolerance = 0.05

// RateShortfall reports whether achieved falls more than
// ShortfallTolerance below target. A target ≤ 0 (closed loop) never
// falls short.
func RateShortfall(target, achieved float64) bool {
	return target > 0 && achieved < target*(1-ShortfallTolerance)
}
