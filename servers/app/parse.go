package app

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/clusterbench/clusterbench/servers/workload"
)

// UnknownKindError reports a /calc kind that does not exist (404).
type UnknownKindError struct{ Kind string }

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("unknown calculation %q (allowed: factorial, sum, primes, fibonacci)", e.Kind)
}

// ParseCalc validates a /calc request: the kind from the path and n from the
// raw query string. Errors say what is wrong and what is allowed.
func ParseCalc(kind, rawQuery string) (workload.Kind, int64, error) {
	k := workload.Kind(kind)
	b, ok := workload.Bounds(k)
	if !ok {
		return "", 0, &UnknownKindError{Kind: kind}
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", 0, fmt.Errorf("malformed query string: %v (expected n=INTEGER, %d..%d)", err, b.Min, b.Max)
	}
	vals, ok := q["n"]
	if !ok || len(vals) == 0 || vals[0] == "" {
		return "", 0, fmt.Errorf("%s: missing n (expected n=INTEGER, %d..%d)", k, b.Min, b.Max)
	}
	if len(vals) > 1 {
		return "", 0, fmt.Errorf("%s: n given %d times (expected one n=INTEGER, %d..%d)", k, len(vals), b.Min, b.Max)
	}
	n, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%s: n=%q is not an integer (allowed: %d..%d)", k, vals[0], b.Min, b.Max)
	}
	if err := workload.Check(k, n); err != nil {
		return "", 0, err
	}
	return k, n, nil
}

// ParseStall validates the d parameter of /fault/stall.
func ParseStall(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("missing d (expected a duration such as d=500ms, 0..%s)", MaxStall)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > MaxStall {
		return 0, fmt.Errorf("d=%q is not a duration in 0..%s (example: d=500ms)", s, MaxStall)
	}
	return d, nil
}
