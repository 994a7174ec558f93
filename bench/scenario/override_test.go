package scenario

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func base(t *testing.T) *Scenario {
	t.Helper()
	s, err := Parse("o.yaml", []byte(doc("  - model: single\n  - model: pool\n  - model: prefork\n", okRequests, "  concurrency: [1, 8]\n  warmup: 2s\n", "")))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dur(d time.Duration) *time.Duration { return &d }

func TestOverride(t *testing.T) {
	tests := []struct {
		name  string
		o     Overrides
		check func(*Scenario) bool
	}{
		{"nothing", Overrides{}, func(s *Scenario) bool { return reflect.DeepEqual(s, base(t)) }},
		{"servers keeps file order", Overrides{Servers: []string{"prefork", "single"}}, func(s *Scenario) bool {
			return len(s.Servers) == 2 && s.Servers[0].Name == "single" && s.Servers[1].Name == "prefork"
		}},
		{"concurrency", Overrides{Concurrency: []int{64, 1}}, func(s *Scenario) bool {
			return s.Load.Mode == Closed && slices.Equal(s.Load.Levels, []int{64, 1})
		}},
		{"rate switches to open", Overrides{Rate: []int{500}}, func(s *Scenario) bool {
			return s.Load.Mode == Open && slices.Equal(s.Load.Levels, []int{500})
		}},
		{"duration, trials", Overrides{Duration: 300 * time.Millisecond, Trials: 7}, func(s *Scenario) bool {
			return s.Load.Duration == 300*time.Millisecond && s.Load.Trials == 7 && s.Load.Warmup == 2*time.Second
		}},
		{"warmup zero is kept as zero", Overrides{Warmup: dur(0)}, func(s *Scenario) bool { return s.Load.Warmup == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base(t)
			if err := s.Override(tt.o); err != nil {
				t.Fatal(err)
			}
			if !tt.check(s) {
				t.Errorf("after Override(%+v): %+v", tt.o, s)
			}
		})
	}
}

func TestOverrideDoesNotAlias(t *testing.T) {
	s := base(t)
	levels := []int{2, 4}
	if err := s.Override(Overrides{Concurrency: levels}); err != nil {
		t.Fatal(err)
	}
	levels[0] = 99
	if s.Load.Levels[0] != 2 {
		t.Errorf("Override kept the caller's slice: levels %v", s.Load.Levels)
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Overrides
		want []string
	}{
		{"unknown server", Overrides{Servers: []string{"pool", "nginx"}}, []string{`--servers: "nginx" is not a server of scenario t (allowed: single, pool, prefork)`}},
		{"server twice", Overrides{Servers: []string{"pool", "pool"}}, []string{`--servers: "pool" is listed twice (allowed: each server once)`}},
		{"concurrency and rate", Overrides{Concurrency: []int{1}, Rate: []int{1}}, []string{"--rate: given together with --concurrency (allowed: --concurrency for a closed loop or --rate for an open loop, not both)"}},
		{"concurrency range", Overrides{Concurrency: []int{0, 8, 8}}, []string{
			"--concurrency: 0 is out of range (allowed: 1..10000)", "--concurrency: 8 is listed twice (allowed: each level once)"}},
		{"too many levels", Overrides{Rate: make([]int, 33)}, nil},
		{"rate range", Overrides{Rate: []int{-5}}, []string{"--rate: -5 is out of range (allowed: 1..1000000)"}},
		{"duration", Overrides{Duration: 2 * time.Hour}, []string{"--duration: 2h is out of range (allowed: 100ms..1h)"}},
		{"negative duration", Overrides{Duration: -time.Second}, []string{"--duration: -1s is out of range (allowed: 100ms..1h)"}},
		{"warmup", Overrides{Warmup: dur(-time.Second)}, []string{"--warmup: -1s is out of range (allowed: 0s..10m)"}},
		{"trials", Overrides{Trials: 101}, []string{"--trials: 101 is out of range (allowed: 1..100)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base(t)
			err := s.Override(tt.o)
			if err == nil {
				t.Fatalf("Override(%+v) succeeded", tt.o)
			}
			if tt.want != nil && err.Error() != strings.Join(tt.want, "\n") {
				t.Errorf("error:\n%v\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
			if tt.want == nil && !strings.Contains(err.Error(), "--rate: too many levels (allowed: at most 32 levels)") {
				t.Errorf("error %q lacks the too-many-levels line", err)
			}
			if !reflect.DeepEqual(s, base(t)) {
				t.Errorf("a failed Override changed the scenario: %+v", s)
			}
		})
	}
}
