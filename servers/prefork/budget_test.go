package prefork

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCrashBudgetWindow(t *testing.T) {
	b := crashBudget{budget: 3, window: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	for i, c := range []struct {
		at      time.Duration
		count   int
		tripped bool
	}{
		{0, 1, false},
		{1 * time.Second, 2, false},
		{2 * time.Second, 3, false},
		{10500 * time.Millisecond, 3, false}, // the exit at 0s fell out of the window
		{10800 * time.Millisecond, 4, true},
		{30 * time.Second, 1, false}, // all decayed
	} {
		count, tripped := b.add(t0.Add(c.at))
		if count != c.count || tripped != c.tripped {
			t.Errorf("exit %d at +%s: count %d tripped %v, want %d %v", i, c.at, count, tripped, c.count, c.tripped)
		}
	}
	if len(b.exits) > b.budget+1 {
		t.Errorf("budget keeps %d timestamps, want at most %d", len(b.exits), b.budget+1)
	}
}

func TestCrashBudgetBoundedMemory(t *testing.T) {
	b := crashBudget{budget: 2, window: time.Hour}
	t0 := time.Unix(0, 0)
	for i := range 100 {
		b.add(t0.Add(time.Duration(i) * time.Millisecond))
	}
	if len(b.exits) != 3 {
		t.Errorf("kept %d timestamps after 100 exits, want 3", len(b.exits))
	}
}

func TestBackoff(t *testing.T) {
	min, max := 100*time.Millisecond, time.Second
	var got []time.Duration
	for n := range 7 {
		got = append(got, backoff(n, min, max))
	}
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("backoff 0..6 = %v, want %v", got, want)
	}
	if d := backoff(1000, min, max); d != max {
		t.Errorf("backoff(1000) = %s, want the cap %s", d, max)
	}
}

func TestUnstable(t *testing.T) {
	for _, c := range []struct {
		ready  bool
		uptime time.Duration
		want   bool
	}{
		{false, time.Hour, true}, // never served
		{true, 10 * time.Millisecond, true},
		{true, time.Second, false},
		{true, time.Minute, false},
	} {
		if got := unstable(c.ready, c.uptime, time.Second); got != c.want {
			t.Errorf("unstable(ready=%v, uptime=%s) = %v, want %v", c.ready, c.uptime, got, c.want)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	cfg, err := Config{Addr: "127.0.0.1:0", Workers: 4}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Balance != BalanceShared || cfg.Grace != DefaultGrace || cfg.CrashBudget != 4*DefaultCrashPerWorker ||
		cfg.CrashWindow != DefaultCrashWindow || cfg.MinUptime != DefaultMinUptime || cfg.ReadyTimeout != DefaultReadyTimeout ||
		cfg.Command == "" || cfg.Logger == nil {
		t.Errorf("defaults not filled in: %+v", cfg)
	}
	if _, err := (Config{Workers: 2000}).withDefaults(); err == nil || !strings.Contains(err.Error(), "allowed: 1..1024") {
		t.Errorf("workers 2000: %v, want the allowed range", err)
	}
}
