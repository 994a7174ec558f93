package scenario

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const faultServers = "  - {model: prefork, workers: 2}\n  - {name: node, command: [node, cluster.js]}\n"

func TestParseFaults(t *testing.T) {
	src := doc(faultServers, okRequests, "  rate: 100\n  duration: 10s\n", `faults:
  - at: 3s
    kill: worker
  - at: 4s
    kill: worker
    pick: id 1
  - at: 5s
    stall: worker
    for: 500ms
    pick: busiest
  - at: 6s
    signal: hup
  - at: 7s
    crash_loop: worker
    times: 5
    every: 100ms
    pick: busiest
  - at: 7500ms
    crash_loop: worker
    times: 1
  - at: 8s
    signal: SIGTERM
`)
	s, err := Parse("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Fault{
		{At: 3 * time.Second, Action: FaultKill, Pick: PickRandom, Line: 11},
		{At: 4 * time.Second, Action: FaultKill, Pick: PickID, ID: 1, Line: 13},
		{At: 5 * time.Second, Action: FaultStall, Pick: PickBusiest, For: 500 * time.Millisecond, Line: 16},
		{At: 6 * time.Second, Action: FaultSignal, Signal: "HUP", Line: 20},
		{At: 7 * time.Second, Action: FaultCrashLoop, Pick: PickBusiest, Times: 5, Every: 100 * time.Millisecond, Line: 22},
		{At: 7500 * time.Millisecond, Action: FaultCrashLoop, Pick: PickRandom, Times: 1, Line: 27},
		{At: 8 * time.Second, Action: FaultSignal, Signal: "TERM", Line: 30},
	}
	if !reflect.DeepEqual(s.Faults, want) {
		t.Errorf("Faults =\n%#v\nwant\n%#v", s.Faults, want)
	}
	if !s.Faults[6].Ends() || s.Faults[3].Ends() || s.Faults[4].Ends() {
		t.Errorf("Ends: TERM %v, HUP %v, crash loop %v; want true, false, false", s.Faults[6].Ends(), s.Faults[3].Ends(), s.Faults[4].Ends())
	}
	if !s.Faults[4].OnWorker() || s.Faults[4].Span() != 400*time.Millisecond || s.Faults[5].Span() != 0 {
		t.Errorf("crash loops: OnWorker %v, Span %s and %s; want true, 400ms, 0s", s.Faults[4].OnWorker(), s.Faults[4].Span(), s.Faults[5].Span())
	}
	names := []string{"kill -9 worker (random)", "kill -9 worker (id 1)", "stall worker 500ms (busiest)", "SIGHUP",
		"crash loop 5× every 100ms (busiest)", "crash loop 1× (random)", "SIGTERM"}
	for i, f := range s.Faults {
		if f.String() != names[i] {
			t.Errorf("fault %d prints %q, want %q", i, f.String(), names[i])
		}
	}
}

func TestFaultErrors(t *testing.T) {
	tests := []struct {
		name, servers, load, faults string
		want                        []string
	}{
		{"beyond duration", faultServers, "  rate: 100\n  duration: 2s\n", "  - {at: 2s, kill: worker}\n",
			[]string{"f.yaml:11: faults[0].at: 2s is beyond the trial's duration (allowed: less than the trial's duration (2s))"}},
		{"no workers", "  - model: single\n  - model: pool\n", okLoad, "  - {at: 1s, stall: worker, for: 1s}\n",
			[]string{"f.yaml:10: faults[0].stall: server single (model single) has no worker processes (allowed: servers with worker processes: model prefork or a command:)",
				"f.yaml:10: faults[0].stall: server pool (model pool) has no worker processes (allowed: servers with worker processes: model prefork or a command:)"}},
		{"TERM on single is fine, target is not", "  - model: single\n  - {target: 'http://127.0.0.1:9'}\n", okLoad, "  - {at: 1s, signal: TERM}\n",
			[]string{"f.yaml:10: faults[0]: server target is a target: the runner does not own its processes (allowed: servers the runner starts (model: or command:))"}},
		{"HUP only for prefork and command", "  - model: single\n  - model: pool\n" + faultServers, okLoad, "  - {at: 1s, signal: HUP}\n",
			[]string{"f.yaml:12: faults[0].signal: server single (model single) does not handle SIGHUP (its default action ends the process) (allowed: servers that handle SIGHUP: model prefork or a command:)",
				"f.yaml:12: faults[0].signal: server pool (model pool) does not handle SIGHUP (its default action ends the process) (allowed: servers that handle SIGHUP: model prefork or a command:)"}},
		{"USR2 only for command", "  - model: single\n" + faultServers, okLoad, "  - {at: 1s, signal: USR2}\n",
			[]string{"f.yaml:11: faults[0].signal: server single (model single) does not handle SIGUSR2 (its default action ends the process) (allowed: servers that handle SIGUSR2: a command:)",
				"f.yaml:11: faults[0].signal: server prefork (model prefork) does not handle SIGUSR2 (its default action ends the process) (allowed: servers that handle SIGUSR2: a command:)"}},
		{"vegeta retries", faultServers, okLoad + "  engine: vegeta\n", "  - {at: 1s, kill: worker}\n",
			[]string{"f.yaml:9: load.engine: faults need a client that never retries (allowed: lean)"}},
		{"unknown signal", faultServers, okLoad, "  - {at: 1s, signal: KILL}\n",
			[]string{`f.yaml:10: faults[0].signal: "KILL" is not a signal a fault may send (allowed: HUP, TERM, INT, USR1, USR2)`}},
		{"negative for", faultServers, okLoad, "  - {at: 1s, stall: worker, for: -1s}\n",
			[]string{"f.yaml:10: faults[0].for: -1s is out of range (allowed: 1ms..1m, written like 500ms, 5s, 1m)"}},
		{"unknown pick", faultServers, okLoad, "  - {at: 1s, kill: worker, pick: id x}\n",
			[]string{`f.yaml:10: faults[0].pick: "id x" is not a way to pick a worker (allowed: busiest, random, id N (N: the worker's X-Worker-Id))`}},
		{"pick id without warm-up", faultServers, "  concurrency: 1\n  warmup: 0s\n", "  - {at: 1s, kill: worker, pick: id 0}\n",
			[]string{"f.yaml:11: faults[0].pick: load.warmup is 0 (allowed: pick: id N with a warm-up (its answers map worker ids to pids), or busiest, random)"}},
		{"after TERM", faultServers, okLoad, "  - {at: 2s, kill: worker}\n  - {at: 1s, signal: TERM}\n",
			[]string{"f.yaml:10: faults[0].at: comes after the SIGTERM at 1s (line 11), which ends the server (allowed: faults before the one that ends the server)"}},
		{"two actions", faultServers, okLoad, "  - {at: 1s, kill: worker, signal: HUP}\n",
			[]string{"f.yaml:10: faults[0]: has kill and signal (allowed: one of kill:, stall:, crash_loop:, signal: per fault)"}},
		{"stall without for", faultServers, okLoad, "  - {at: 1s, stall: worker}\n",
			[]string{"f.yaml:10: faults[0].for: missing (allowed: how long the worker stays stopped, such as 500ms)"}},
		{"crash loop without times", faultServers, okLoad, "  - {at: 1s, crash_loop: worker}\n",
			[]string{"f.yaml:10: faults[0].times: missing (allowed: how many kills in all, 1..100)"}},
		{"crash loop times 0", faultServers, okLoad, "  - {at: 1s, crash_loop: worker, times: 0}\n",
			[]string{"f.yaml:10: faults[0].times: 0 is out of range (allowed: 1..100)"}},
		{"crash loop times 101", faultServers, okLoad, "  - at: 1s\n    crash_loop: worker\n    times: 101\n",
			[]string{"f.yaml:12: faults[0].times: 101 is out of range (allowed: 1..100)"}},
		{"crash loop negative every", faultServers, okLoad, "  - {at: 1s, crash_loop: worker, times: 3, every: -1s}\n",
			[]string{"f.yaml:10: faults[0].every: -1s is out of range (allowed: 0s..1m, written like 500ms, 5s, 1m)"}},
		{"crash loop beyond the trial", faultServers, "  rate: 100\n  duration: 3s\n", "  - {at: 1s, crash_loop: worker, times: 5, every: 500ms}\n",
			[]string{"f.yaml:11: faults[0].every: the last of 5 kills 500ms apart from 1s is due at 3s, beyond the trial's duration (allowed: at + every × (times - 1) less than the trial's duration (3s))"}},
		{"crash loop on single", "  - model: single\n", okLoad, "  - {at: 1s, crash_loop: worker, times: 2}\n",
			[]string{"f.yaml:9: faults[0].crash_loop: server single (model single) has no worker processes (allowed: servers with worker processes: model prefork or a command:)"}},
		{"times off crash_loop", faultServers, okLoad, "  - {at: 1s, kill: worker, times: 2, every: 1s}\n",
			[]string{"f.yaml:10: faults[0].times: only for crash_loop: (allowed: times: with crash_loop: worker)",
				"f.yaml:10: faults[0].every: only for crash_loop: (allowed: every: with crash_loop: worker)"}},
		{"crash loop into TERM", faultServers, okLoad, "  - {at: 1s, crash_loop: worker, times: 3, every: 200ms}\n  - {at: 1300ms, signal: TERM}\n",
			[]string{"f.yaml:10: faults[0].at: comes after the SIGTERM at 1.3s (line 11), which ends the server (allowed: faults before the one that ends the server)"}},
		{"kill during a crash loop", faultServers, okLoad, "  - {at: 1s, crash_loop: worker, times: 3, every: 200ms}\n  - {at: 1300ms, kill: worker}\n",
			[]string{"f.yaml:11: faults[1].at: 1.3s falls within the crash loop at 1s (line 10), whose last kill is due at 1.4s at the earliest (allowed: after a crash loop's last kill: at + every × (times - 1))"}},
		{"crash loops at once", faultServers, okLoad, "  - {at: 1s, crash_loop: worker, times: 2}\n  - {at: 1s, crash_loop: worker, times: 2}\n",
			[]string{"f.yaml:11: faults[1].at: 1s falls within the crash loop at 1s (line 10), whose last kill is due at 1s at the earliest (allowed: after a crash loop's last kill: at + every × (times - 1))"}},
		{"HUP with a crash loop", faultServers, okLoad, "  - {at: 1s, signal: HUP}\n  - {at: 1s, crash_loop: worker, times: 2}\n",
			[]string{"f.yaml:10: faults[0].at: 1s falls within the crash loop at 1s (line 11), whose last kill is due at 1s at the earliest (allowed: after a crash loop's last kill: at + every × (times - 1))"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(doc(tt.servers, okRequests, tt.load, "faults:\n"+tt.faults)))
			if err == nil {
				t.Fatal("parsed without error")
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Errorf("error is %T, want Errors", err)
			}
		})
	}
}

func TestOverrideFaults(t *testing.T) {
	s, err := Parse("f.yaml", []byte(doc(faultServers, okRequests, "  rate: 100\n  duration: 10s\n", "faults:\n  - {at: 3s, kill: worker}\n")))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Override(Overrides{Duration: 2 * time.Second})
	want := "--duration: faults[0].at: 3s is beyond the trial's duration (line 11) (allowed: less than the trial's duration (2s))"
	if err == nil || err.Error() != want {
		t.Errorf("Override(--duration 2s) = %v, want %s", err, want)
	}
	if s.Load.Duration != 10*time.Second {
		t.Errorf("duration %s after a refused override, want it unchanged (10s)", s.Load.Duration)
	}
	if err := s.Override(Overrides{Duration: 4 * time.Second}); err != nil {
		t.Errorf("Override(--duration 4s) = %v, want nil", err)
	}
	err = s.Override(Overrides{Engine: "vegeta"})
	want = "--engine: faults need a client that never retries (allowed: lean)"
	if err == nil || err.Error() != want {
		t.Errorf("Override(--engine vegeta) = %v, want %s", err, want)
	}
	if s.Load.Engine != "lean" {
		t.Errorf("engine %q after a refused override, want it unchanged (lean)", s.Load.Engine)
	}
}

// TestSignalApplies: TERM and INT end every server; HUP is a rolling
// restart of prefork and of a command: server; USR1 and USR2 only a
// command: server may handle.
func TestSignalApplies(t *testing.T) {
	servers := map[string]Server{"single": {Model: "single"}, "pool": {Model: "pool"}, "prefork": {Model: "prefork"},
		"command": {Command: []string{"node", "cluster.js"}}}
	want := map[string][]string{"TERM": {"command", "pool", "prefork", "single"}, "INT": {"command", "pool", "prefork", "single"},
		"HUP": {"command", "prefork"}, "USR1": {"command"}, "USR2": {"command"}}
	for _, sig := range FaultSignals {
		var got []string
		for name, sv := range servers {
			if ok, _ := SignalApplies(sig, sv); ok {
				got = append(got, name)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want[sig]) {
			t.Errorf("SIG%s applies to %v, want %v", sig, got, want[sig])
		}
	}
}
