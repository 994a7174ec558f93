package load

import (
	"context"
	"testing"
	"time"
)

// TestLiveCountsWhileRunning: a trial given a Live shows its completed
// requests while it is still running (the server holds the 6th request
// until the count of 5 has been read), and its final count equals the
// trial's, with the requests of an unexpected status counted as errors;
// on each engine.
func TestLiveCountsWhileRunning(t *testing.T) {
	const answered = 5
	for _, c := range []struct {
		name   string
		engine string
		gor    bool
	}{{"epoll", EngineLean, false}, {"goroutines", EngineLean, true}, {"vegeta", EngineVegeta, false}} {
		for _, expect := range [][]int{nil, {204}} {
			t.Run(c.name, func(t *testing.T) {
				s := newServer(t, 0, func(n int64) bool { return n == answered+1 })
				live := &Live{}
				if r, e := live.Count(); r != 0 || e != 0 {
					t.Fatalf("a Live no trial has started counts %d requests, %d errors; want 0, 0", r, e)
				}
				cfg := Config{
					Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Closed, Level: 1, KeepAlive: true,
					Duration: time.Minute, Requests: answered + 1, Engine: c.engine, ExpectStatus: expect,
					Live: live, goroutines: c.gor,
				}
				type result struct {
					out *Outcome
					err error
				}
				done := make(chan result, 1)
				go func() {
					out, err := Run(context.Background(), cfg)
					done <- result{out, err}
				}()
				<-s.blocked
				// The 5 answers are published at the loop's next check
				// (10ms) or at once (goroutines, vegeta): wait for them.
				deadline := time.Now().Add(30 * time.Second)
				var r, e int64
				for r, e = live.Count(); r < answered && time.Now().Before(deadline); r, e = live.Count() {
					time.Sleep(time.Millisecond)
				}
				wantErr := int64(0)
				if expect != nil {
					wantErr = answered
				}
				if r != answered || e != wantErr {
					t.Errorf("while the 6th request is held: %d requests, %d errors; want %d, %d", r, e, answered, wantErr)
				}
				s.release <- struct{}{}
				res := <-done
				if res.err != nil {
					t.Fatal(res.err)
				}
				r, e = live.Count()
				a := res.out.Acc
				if r != a.Requests() || e != a.Requests()-a.Successes() || r != answered+1 {
					t.Errorf("after the trial: live %d requests, %d errors; the trial %d requests, %d successes (want %d requests)",
						r, e, a.Requests(), a.Successes(), answered+1)
				}
			})
		}
	}
}

// TestNilLive: a trial without a Live runs as before, and a nil Live
// counts zero.
func TestNilLive(t *testing.T) {
	var l *Live
	if r, e := l.Count(); r != 0 || e != 0 {
		t.Errorf("nil Live counts %d, %d; want 0, 0", r, e)
	}
	if s := l.begin(4); s != nil || slot(s, 2) != nil {
		t.Errorf("nil Live begins slots %v, want none", s)
	}
	slot(nil, 0).publish(nil) // a nil slot publishes nothing and does not touch acc
}
