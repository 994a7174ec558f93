package metrics

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	line := "4242 (my (odd) proc) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 123 456 78 18446744073709551615\n"
	st, err := ParseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := ProcStat{Pid: 4242, PPid: 1, Pgrp: 4240, State: 'S', StartTicks: 123, CPU: 3100 * time.Millisecond, ReapedCPU: 100 * time.Millisecond}
	if st != want {
		t.Errorf("ParseProcStat = %+v, want %+v", st, want)
	}
	for _, bad := range []string{"", "12 no comm", "x (a) S 1 2", "12 (a) S 1 2 3", "12 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"} {
		if _, err := ParseProcStat([]byte(bad)); err == nil {
			t.Errorf("ParseProcStat(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("4242 (a b) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseProcStat([]byte(s)) // must not panic
	})
}

func TestParseSchedstat(t *testing.T) {
	if ts, err := ParseSchedstat([]byte("879927 1181245 2\n")); err != nil || ts != (ThreadSched{CPU: 879927, Wait: 1181245}) {
		t.Errorf("ParseSchedstat = %+v, %v", ts, err)
	}
	for _, bad := range []string{"", "12", "1 x 2", "1 -5 2", "-1 5 2"} {
		if _, err := ParseSchedstat([]byte(bad)); err == nil {
			t.Errorf("ParseSchedstat(%q) succeeded", bad)
		}
	}
}

func TestWorkWait(t *testing.T) {
	ms := time.Millisecond
	before := map[int]ThreadSched{1: {CPU: 100 * ms, Wait: 50 * ms}, 2: {CPU: 1 * ms, Wait: 10 * ms}, 3: {CPU: 5 * ms}}
	after := map[int]ThreadSched{
		1: {CPU: 900 * ms, Wait: 450 * ms}, // the worker: 800ms on CPU, waited 400ms
		2: {CPU: 1 * ms, Wait: 600 * ms},   // a housekeeping thread: no CPU, waited 590ms
		4: {CPU: 200 * ms, Wait: 100 * ms}, // a new worker thread
		// 3 exited
	}
	// weights: thread 1 800/1000, thread 2 0, thread 4 200/1000
	want := time.Duration(0.8*400+0.2*100) * ms
	if got := WorkWait(before, after); got != want {
		t.Errorf("WorkWait = %v, want %v", got, want)
	}
	if got := WorkWait(after, after); got != 0 {
		t.Errorf("WorkWait over no time = %v, want 0", got)
	}
	if got := WorkWait(after, before); got != 0 {
		t.Errorf("WorkWait with counters going back = %v, want 0", got)
	}
}

func FuzzParseSchedstat(f *testing.F) {
	f.Add("879927 1181245 2\n")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseSchedstat([]byte(s))
		if err == nil && (ts.CPU < 0 || ts.Wait < 0) {
			t.Fatalf("ParseSchedstat(%q) = %+v: negative", s, ts)
		}
	})
}

func TestCPUDuring(t *testing.T) {
	var calls []string
	samples := []time.Duration{100, 350}
	cpu := func() (time.Duration, error) {
		calls = append(calls, "cpu")
		d := samples[0]
		samples = samples[1:]
		return d, nil
	}
	attack := func() error { calls = append(calls, "attack"); return nil }
	if got, err := CPUDuring(cpu, attack); err != nil || got != 250 {
		t.Errorf("CPUDuring = %v, %v, want 250ns", got, err)
	}
	if want := []string{"cpu", "attack", "cpu"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}

	errAttack := errors.New("attack failed")
	errSample := errors.New("no /proc")
	seq := func(ds ...any) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			v := ds[0]
			ds = ds[1:]
			if err, ok := v.(error); ok {
				return 0, err
			}
			return v.(time.Duration), nil
		}
	}
	ok := func() error { return nil }
	if _, err := CPUDuring(seq(time.Duration(1), time.Duration(2)), func() error { return errAttack }); err != errAttack {
		t.Errorf("attack error: got %v, want it as it is", err)
	}
	ran := false
	_, err := CPUDuring(seq(errSample, time.Duration(2)), func() error { ran = true; return nil })
	if !ran || !errors.Is(err, ErrCPUNotMeasured) || !errors.Is(err, errSample) || !strings.Contains(err.Error(), "before") {
		t.Errorf("failed first sample: ran %v, err %v; want the attack run and an error wrapping both", ran, err)
	}
	if _, err := CPUDuring(seq(time.Duration(1), errSample), ok); !errors.Is(err, ErrCPUNotMeasured) || !strings.Contains(err.Error(), "after") {
		t.Errorf("failed second sample: %v", err)
	}
	if got, err := CPUDuring(seq(time.Duration(5), time.Duration(4)), ok); !errors.Is(err, ErrCPUNotMeasured) || got != 0 {
		t.Errorf("figure going back: %v, %v; want 0 and an error", got, err)
	}
}
