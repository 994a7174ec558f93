package servertest

import (
	"context"
	"net"
	"testing"
	"time"
)

// DrainConns is the number of keep-alive connections of Drain's load.
const DrainConns = 16

// Drain checks the drain contract of DESIGN.md under load: serve runs on a
// fresh 127.0.0.1:0 listener with a keep-alive load of DrainConns
// connections that never retries; then serve's ctx ends, as a SIGTERM ends
// it in the CLI. Every request written must be answered whole with a 2xx,
// every connection must end with an answer that carries Connection: close,
// a new connection opened from the end of ctx on must be refused rather
// than accepted and left unanswered, and serve must return nil. The time
// from the end of ctx to the first refused connection is logged, not
// asserted (it depends on the machine's load).
func Drain(t *testing.T, serve func(ctx context.Context, ln net.Listener) error) {
	t.Helper()
	const timeout = 30 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()

	ld := StartLoad(addr, LoadOptions{Conns: DrainConns})
	defer ld.Stop() // after a failure below; a no-op once the loops ended
	deadline := time.Now().Add(timeout)
	for ld.Count() < 2*DrainConns { // a polled count: the load has no signal
		if time.Now().After(deadline) || ld.Running() == 0 {
			res := ld.Stop()
			t.Fatalf("the load got %d answers within %s, want %d (%d failed, %d dial errors)", len(res.Replies), timeout, 2*DrainConns, len(res.Failed()), len(res.DialErrors))
		}
		time.Sleep(time.Millisecond)
	}

	stop := time.Now()
	cancel()
	pr := CheckDrained(t, ld, DrainConns, addr, timeout, timeout)
	if pr.Err != nil {
		t.Errorf("a new connection during the drain: %v", pr.Err)
	} else {
		t.Logf("end of ctx → first refused connection: %s; before it %d were answered and %d reset", pr.At.Sub(stop).Round(100*time.Microsecond), pr.Answered, pr.Reset)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after the drain = %v, want nil (a clean drain)", err)
		}
	case <-time.After(timeout):
		t.Errorf("serve did not return within %s of its context's end", timeout)
	}
}

// Refusal is what UntilRefused saw, when it returned, and its error.
type Refusal struct {
	Probes
	At  time.Time
	Err error
}

// CheckDrained is the shared half of a drain check, called as the drain
// begins: it probes addr for a refused connection (UntilRefused with answer
// and total) while it waits for ld's connection loops to end (a keep-alive
// load without Reconnect ends each at the answer that carries
// Connection: close, or at a failed request). It fails t when a request of
// ld failed, when a load connection could not be opened, or when not all
// conns connections ended with Connection: close, and returns the probe's
// outcome for the caller to judge.
func CheckDrained(t testing.TB, ld *Load, conns int, addr string, answer, total time.Duration) Refusal {
	t.Helper()
	probe := make(chan Refusal, 1)
	go func() {
		p, err := UntilRefused(addr, answer, total)
		probe <- Refusal{p, time.Now(), err}
	}()
	res := ld.Wait()
	failed := res.Failed()
	closes := 0
	for _, r := range res.Replies {
		if r.Close {
			closes++
		}
	}
	t.Logf("%d requests on %d keep-alive connections across the drain, %d failed, %d answered with Connection: close", len(res.Replies), conns, len(failed), closes)
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed across the drain, want 0; first: status %d, %v", len(failed), len(res.Replies), failed[0].Status, failed[0].Err)
	}
	if len(res.DialErrors) > 0 {
		t.Errorf("%d load connections could not be opened: %v", len(res.DialErrors), res.DialErrors[0])
	}
	if closes != conns {
		t.Errorf("%d connections ended with Connection: close, want all %d", closes, conns)
	}
	return <-probe
}
