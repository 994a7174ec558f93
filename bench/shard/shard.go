// Package shard splits one load across N load generators (shards) that
// run without a coordinator, as the pods of a Kubernetes Indexed Job do:
// which shard a process is (Parse: "i/N", or "auto/N" from the Job's
// completion index), its share of each load level (Share, Levels), and
// the run id all shards of one job agree on (RunID).
//
// The shares of a total are as even as integers allow: every shard gets
// total/N and the first total%N shards one more, so the shares always add
// up to the total exactly.
//
// Everything here is pure (Parse reads the environment only through the
// function it is given): safe to call from any goroutine.
package shard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EnvIndex is the variable Kubernetes sets in every pod of an Indexed Job
// to the pod's completion index, 0..completions-1.
const EnvIndex = "JOB_COMPLETION_INDEX"

// Auto is the index word that reads the index from EnvIndex.
const Auto = "auto"

// MaxCount bounds the number of shards.
const MaxCount = 1000

// Spec is one shard of Count: Index is 0-based.
type Spec struct {
	Index int
	Count int
}

// String writes s as Parse reads it: "i/N".
func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Parse reads "i/N" (shard i of N, 0 ≤ i < N ≤ MaxCount) or "auto/N",
// which takes i from the variable EnvIndex through getenv. Errors say
// what is allowed.
func Parse(s string, getenv func(string) string) (Spec, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("shard %q is not i/N (allowed: i/N with 0 ≤ i < N ≤ %d, e.g. 0/4, or %s/N in a Kubernetes Indexed Job)", s, MaxCount, Auto)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 || n > MaxCount {
		return Spec{}, fmt.Errorf("shard %q: count %q is out of range (allowed: 1..%d)", s, ns, MaxCount)
	}
	from := ""
	if is == Auto {
		is = getenv(EnvIndex)
		if is == "" {
			return Spec{}, fmt.Errorf("shard %q: %s is not set (allowed: %s/N inside a Kubernetes Indexed Job, which sets it; elsewhere give the index: i/N)", s, EnvIndex, Auto)
		}
		from = " (from " + EnvIndex + ")"
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return Spec{}, fmt.Errorf("shard %q: index %q%s is out of range (allowed: 0..%d for %d shards)", s, is, from, n-1, n)
	}
	return Spec{Index: i, Count: n}, nil
}

// Share is shard index's part of total split count ways: total/count,
// plus one for the first total%count shards. The shares of all shards add
// up to total. index must be in 0..count-1 and total ≥ 0.
func Share(total int64, index, count int) int64 {
	q, r := total/int64(count), total%int64(count)
	if int64(index) < r {
		q++
	}
	return q
}

// ErrEmptyShare is a level too small to give every shard a part of it.
var ErrEmptyShare = errors.New("a shard's share is 0")

// Levels returns shard s's share of each level (rates or connections).
// It refuses a level smaller than the shard count (some shard would get
// nothing: the error names the minimum) and two levels that give any
// shard of s.Count the same share (a shard's levels must differ, as a
// scenario's do). Both checks cover every index 0..s.Count-1, not only
// s.Index, so that all shards of one job, and a check made with any
// index, accept or refuse the same levels.
func Levels(levels []int, s Spec) ([]int, error) {
	for _, l := range levels {
		if l < s.Count {
			return nil, fmt.Errorf("level %d split %d ways leaves shard %d with 0: %w (allowed: levels ≥ %d with %d shards)",
				l, s.Count, s.Count-1, ErrEmptyShare, s.Count, s.Count)
		}
	}
	shares := make([]int, len(levels))
	for k := range s.Count {
		for i, l := range levels {
			shares[i] = int(Share(int64(l), k, s.Count))
			for j := range i {
				if shares[j] == shares[i] {
					return nil, fmt.Errorf("levels %d and %d both give shard %s a share of %d (allowed: levels whose shares differ for every shard, e.g. levels at least %d apart)",
						levels[j], l, Spec{Index: k, Count: s.Count}, shares[i], s.Count)
				}
			}
		}
	}
	out := make([]int, len(levels))
	for i, l := range levels {
		out[i] = int(Share(int64(l), s.Index, s.Count))
	}
	return out, nil
}

// RunIDLayout formats the start time in a run id: UTC, seconds, and a
// fraction only when the time has one.
const RunIDLayout = "20060102T150405.999999999Z"

// RunID is the id every shard of one job derives alike from the common
// start time and the scenario name, e.g. "20261130T200000Z-hello".
func RunID(startAt time.Time, scenario string) string {
	return startAt.UTC().Format(RunIDLayout) + "-" + scenario
}
