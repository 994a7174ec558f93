package scenario

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
)

func TestServeArgs(t *testing.T) {
	tests := []struct {
		s    Server
		want []string
	}{
		{Server{Name: "single", Model: "single"}, []string{"serve", "--model", "single", "--addr", "127.0.0.1:0"}},
		{Server{Model: "single", GOMAXPROCS: 1, Burn: 2 * time.Millisecond}, []string{"serve", "--model", "single", "--addr", "127.0.0.1:0", "--gomaxprocs", "1", "--burn", "2ms"}},
		{Server{Model: "pool", Workers: 4, Queue: 8}, []string{"serve", "--model", "pool", "--addr", "127.0.0.1:0", "--workers", "4", "--queue", "8"}},
		{Server{Model: "prefork", Workers: 2, Balance: "roundrobin"}, []string{"serve", "--model", "prefork", "--addr", "127.0.0.1:0", "--workers", "2", "--balance", "roundrobin"}},
		{Server{Name: "node", Command: []string{"node", "x.js"}}, nil},
	}
	for _, tt := range tests {
		if got := tt.s.ServeArgs("127.0.0.1:0"); !slices.Equal(got, tt.want) {
			t.Errorf("ServeArgs(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestInfo(t *testing.T) {
	s, err := Parse("scenarios/i.yaml", []byte(doc(okServers, "  - {path: /, weight: 2}\n  - {method: HEAD, path: /healthz}\n", "  rate: [10, 20]\n  duration: 1500ms\n  warmup: 0s\n  keepalive: false\n  connections: 16\n", "description: d\n")))
	if err != nil {
		t.Fatal(err)
	}
	si, li := s.Info()
	if want := (results.ScenarioInfo{Name: "t", Description: "d", File: "scenarios/i.yaml"}); si != want {
		t.Errorf("ScenarioInfo = %+v, want %+v", si, want)
	}
	want := results.LoadInfo{Mode: Open, Levels: []int{10, 20}, DurationS: 1.5, WarmupS: 0, Trials: DefaultTrials, KeepAlive: false, Engine: "lean", MaxConns: 16,
		Requests: []results.Request{{Method: "GET", Path: "/", Weight: 2}, {Method: "HEAD", Path: "/healthz", Weight: 1}}}
	if !reflect.DeepEqual(li, want) {
		t.Errorf("LoadInfo = %+v, want %+v", li, want)
	}
}
