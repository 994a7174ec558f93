package shard

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k != EnvIndex {
				t.Errorf("Parse read %s, want only %s", k, EnvIndex)
			}
			return v
		}
	}
	for _, tc := range []struct {
		in, env string
		want    Spec
		err     string // substring of the error; "" = no error
	}{
		{in: "0/1", want: Spec{0, 1}},
		{in: "0/2", want: Spec{0, 2}},
		{in: "3/4", want: Spec{3, 4}},
		{in: " 1/2 ", want: Spec{1, 2}},
		{in: "auto/4", env: "2", want: Spec{2, 4}},
		{in: "999/1000", want: Spec{999, 1000}},
		{in: "3/2", err: `index "3" is out of range (allowed: 0..1 for 2 shards)`},
		{in: "2/2", err: `index "2" is out of range (allowed: 0..1 for 2 shards)`},
		{in: "-1/2", err: `index "-1" is out of range`},
		{in: "0/0", err: `count "0" is out of range (allowed: 1..1000)`},
		{in: "0/1001", err: `count "1001" is out of range`},
		{in: "1", err: "is not i/N"},
		{in: "", err: "is not i/N"},
		{in: "a/2", err: `index "a" is out of range`},
		{in: "auto/2", err: "JOB_COMPLETION_INDEX is not set (allowed: auto/N inside a Kubernetes Indexed Job"},
		{in: "auto/2", env: "2", err: `index "2" (from JOB_COMPLETION_INDEX) is out of range (allowed: 0..1 for 2 shards)`},
		{in: "auto/2", env: "x", err: `index "x" (from JOB_COMPLETION_INDEX) is out of range`},
	} {
		got, err := Parse(tc.in, env(tc.env))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Parse(%q, %s=%q): %v", tc.in, EnvIndex, tc.env, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("Parse(%q, %s=%q) = %v, want %v", tc.in, EnvIndex, tc.env, got, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Parse(%q, %s=%q) = %v, %v; want an error containing %q", tc.in, EnvIndex, tc.env, got, err, tc.err)
		}
	}
}

func TestSpecStringRoundTrip(t *testing.T) {
	s := Spec{Index: 5, Count: 7}
	got, err := Parse(s.String(), func(string) string { return "" })
	if err != nil || got != s {
		t.Fatalf("Parse(%q) = %v, %v; want %v", s.String(), got, err, s)
	}
}

func TestShare(t *testing.T) {
	for _, tc := range []struct {
		total int64
		count int
		want  []int64
	}{
		{400, 4, []int64{100, 100, 100, 100}},
		{401, 4, []int64{101, 100, 100, 100}},
		{403, 4, []int64{101, 101, 101, 100}},
		{3, 4, []int64{1, 1, 1, 0}},
		{0, 3, []int64{0, 0, 0}},
		{7, 1, []int64{7}},
		{1000001, 2, []int64{500001, 500000}},
	} {
		got := make([]int64, tc.count)
		var sum int64
		for i := range tc.count {
			got[i] = Share(tc.total, i, tc.count)
			sum += got[i]
		}
		if !slices.Equal(got, tc.want) || sum != tc.total {
			t.Errorf("shares of %d over %d = %v (sum %d), want %v (sum %d)", tc.total, tc.count, got, sum, tc.want, tc.total)
		}
	}
}

// Every total split every way sums back to the total, and no two shares
// differ by more than one.
func TestShareSumsExactly(t *testing.T) {
	for total := int64(0); total <= 200; total++ {
		for count := 1; count <= 17; count++ {
			var sum, lo, hi int64 = 0, total, 0
			for i := range count {
				v := Share(total, i, count)
				sum += v
				lo, hi = min(lo, v), max(hi, v)
			}
			if sum != total || hi-lo > 1 {
				t.Fatalf("total %d over %d: sum %d, shares %d..%d", total, count, sum, lo, hi)
			}
		}
	}
}

func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		levels []int
		s      Spec
		want   []int
		err    string
	}{
		{[]int{400, 1000}, Spec{0, 4}, []int{100, 250}, ""},
		{[]int{402, 1000}, Spec{1, 4}, []int{101, 250}, ""},
		{[]int{1, 8, 64}, Spec{0, 1}, []int{1, 8, 64}, ""},
		{[]int{4}, Spec{3, 4}, []int{1}, ""},
		{[]int{3}, Spec{0, 4}, nil, "level 3 split 4 ways leaves shard 3 with 0: a shard's share is 0 (allowed: levels ≥ 4 with 4 shards)"},
		{[]int{401, 402}, Spec{0, 4}, nil, "levels 401 and 402 both give shard 0/4 a share of 101"},
		// Shard 0 of 2 gets 200 and 201, shard 1 gets 200 twice: both
		// refuse, naming shard 1, so no shard of the job runs alone.
		{[]int{400, 401}, Spec{0, 2}, nil, "levels 400 and 401 both give shard 1/2 a share of 200"},
		{[]int{400, 401}, Spec{1, 2}, nil, "levels 400 and 401 both give shard 1/2 a share of 200"},
		{[]int{400, 402}, Spec{1, 2}, []int{200, 201}, ""},
	} {
		got, err := Levels(tc.levels, tc.s)
		switch {
		case tc.err == "" && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("Levels(%v, %v) = %v, %v; want %v", tc.levels, tc.s, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Levels(%v, %v) = %v, %v; want an error containing %q", tc.levels, tc.s, got, err, tc.err)
		}
		if tc.err != "" && strings.Contains(tc.err, "share is 0") && !errors.Is(err, ErrEmptyShare) {
			t.Errorf("Levels(%v, %v): %v does not wrap ErrEmptyShare", tc.levels, tc.s, err)
		}
	}
}

func TestRunID(t *testing.T) {
	at := time.Date(2026, 11, 30, 21, 0, 0, 0, time.FixedZone("CET", 3600))
	if got, want := RunID(at, "hello"), "20261130T200000Z-hello"; got != want {
		t.Errorf("RunID = %q, want %q", got, want)
	}
	if got, want := RunID(at.Add(250*time.Millisecond), "load"), "20261130T200000.25Z-load"; got != want {
		t.Errorf("RunID = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0/1", "3/4", "auto/2", "3/2", "0/0", "x", "1/2/3"} {
		f.Add(s, "1")
	}
	f.Fuzz(func(t *testing.T, s, env string) {
		sp, err := Parse(s, func(string) string { return env })
		if err != nil {
			return
		}
		if sp.Count < 1 || sp.Count > MaxCount || sp.Index < 0 || sp.Index >= sp.Count {
			t.Fatalf("Parse(%q) = %v: out of range without an error", s, sp)
		}
	})
}
