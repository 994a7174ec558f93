package runner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/scenario"
)

func TestWaitUntil(t *testing.T) {
	if err := waitUntil(context.Background(), time.Time{}); err != nil {
		t.Errorf("zero time: %v", err)
	}
	if err := waitUntil(context.Background(), time.Now().Add(-time.Hour)); err != nil {
		t.Errorf("past time: %v", err)
	}
	at := time.Now().Add(30 * time.Millisecond)
	if err := waitUntil(context.Background(), at); err != nil {
		t.Errorf("future time: %v", err)
	}
	if now := time.Now(); now.Before(at) {
		t.Errorf("waitUntil returned at %v, before %v", now, at)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := waitUntil(ctx, time.Now().Add(time.Hour)); !errors.Is(err, ErrNotStarted) {
		t.Errorf("cancelled wait: %v, want ErrNotStarted", err)
	}
}

// A run cancelled while it waits for StartAt measures nothing and starts
// no server: the scenario's server command does not exist.
func TestRunCancelledBeforeStartAt(t *testing.T) {
	sc := &scenario.Scenario{
		Name:     "startat",
		Servers:  []scenario.Server{{Name: "x", Command: []string{"/nonexistent/server"}}},
		Requests: []scenario.Request{{Method: "GET", Path: "/", Weight: 1}},
		Load:     scenario.Load{Mode: scenario.Closed, Levels: []int{1}, Duration: time.Second, Trials: 1},
		Pin:      scenario.Pin{Disabled: true},
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	r := &Runner{StartAt: time.Now().Add(time.Hour)}
	out, err := r.Run(ctx, sc)
	if !errors.Is(err, ErrNotStarted) || out != nil {
		t.Fatalf("Run = %v, %v; want nil, ErrNotStarted", out, err)
	}
}
