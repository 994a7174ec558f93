package load

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestParkedWait: a parked wait returns none once its timeout has passed
// (never before), returns the ready events when a file in the epoll set
// becomes readable (here written by a goroutine of the same process, with
// one P; a wait blocked in epoll_wait would pass too, once sysmon handed
// its P on), and returns at once while one stays ready. That an event
// loop's wait parks, which is what it is for (the rest of the process
// keeps a P while event loops wait), TestEventLoopParks checks. When the
// loops waited in epoll_wait, TestEnginesAgree's in-process server got the
// first requests of a trial 6–20 ms late in 10 of 24 lean trials run
// alternately with vegeta.
func TestParkedWait(t *testing.T) {
	pw, p := pipeWait(t)
	events := make([]unix.EpollEvent, 4)

	const timeout = 30 * time.Millisecond
	start := time.Now()
	n, err := pw.wait(events, timeout)
	if took := time.Since(start); err != nil || n != 0 || took < timeout {
		t.Fatalf("nothing ready: %d events, err %v after %v; want 0 events, no error, after %v or more", n, err, took, timeout)
	}

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	wrote := make(chan error, 1)
	go func() {
		_, err := unix.Write(p[1], []byte{1})
		wrote <- err
	}()
	n, err = pw.wait(events, time.Minute)
	if err != nil || n != 1 || int(events[0].Fd) != p[0] || events[0].Events&unix.EPOLLIN == 0 {
		t.Fatalf("pipe written: %d events (%+v), err %v; want the pipe's EPOLLIN", n, events[:n], err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	// Still ready (level-triggered, unread): the next wait returns at once.
	if n, err := pw.wait(events, time.Minute); err != nil || n != 1 {
		t.Fatalf("unread pipe: %d events, err %v; want 1", n, err)
	}
}

// readyPipe returns a parked wait whose epoll set holds the read end of a
// pipe that has a byte unread (level-triggered: it stays ready).
func readyPipe(t testing.TB) (*parkedWait, int) {
	t.Helper()
	pw, p := pipeWait(t)
	if _, err := unix.Write(p[1], []byte{1}); err != nil {
		t.Fatal(err)
	}
	return pw, p[0]
}

// pipeWait returns a parked wait whose epoll set holds the read end p[0]
// of a new non-blocking pipe (EPOLLIN, Fd p[0]), nothing written yet;
// both are closed when the test ends.
func pipeWait(t testing.TB) (*parkedWait, [2]int) {
	t.Helper()
	pw, err := newParkedWait()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pw.close)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	if err := unix.EpollCtl(pw.ep, unix.EPOLL_CTL_ADD, p[0], &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p[0])}); err != nil {
		t.Fatal(err)
	}
	return pw, p
}

// TestParkedWaitLooks: a parked wait reports no events only after it
// looked and found none, even when its deadline has passed before it
// could look (the event loop's goroutine descheduled for longer than
// parkSlack, or the poller's timer firing together with the event). An
// event loop takes a wait with no events for a drained epoll set.
func TestParkedWaitLooks(t *testing.T) {
	pw, fd := readyPipe(t)
	events := make([]unix.EpollEvent, 4)
	for _, timeout := range []time.Duration{0, -time.Millisecond} {
		if n, err := pw.wait(events, timeout); err != nil || n != 1 || int(events[0].Fd) != fd {
			t.Errorf("timeout %v, a pipe ready: %d events (%+v), err %v; want the pipe's EPOLLIN", timeout, n, events[:n], err)
		}
	}
}

// TestParkedWaitDoesNotAllocate: an event loop waits once per round, so a
// wait that allocated would allocate on the hot path (the closed loop's
// every wait for replies parks).
func TestParkedWaitDoesNotAllocate(t *testing.T) {
	pw, _ := readyPipe(t)
	events := make([]unix.EpollEvent, 4)
	if a := testing.AllocsPerRun(100, func() {
		if n, err := pw.wait(events, time.Minute); err != nil || n != 1 {
			t.Fatalf("a pipe ready: %d events, err %v; want 1", n, err)
		}
	}); a != 0 {
		t.Errorf("a wait with an event ready allocates %v times, want 0", a)
	}
	idle, err := newParkedWait()
	if err != nil {
		t.Fatal(err)
	}
	defer idle.close()
	if a := testing.AllocsPerRun(5, func() {
		if n, err := idle.wait(events, time.Millisecond); err != nil || n != 0 {
			t.Fatalf("nothing ready: %d events, err %v; want 0", n, err)
		}
	}); a != 0 {
		t.Errorf("a wait that times out allocates %v times, want 0", a)
	}
}

// TestEventLoopParks: an event loop waiting for a reply parks in the Go
// poller ("IO wait" in a goroutine dump), where it holds no P, and never
// blocks in a system call ("syscall"), where it would keep its P until
// sysmon took it back: its waits for timeout checks need no precision.
// Blocking in epoll_wait, it was in a system call at every look.
func TestEventLoopParks(t *testing.T) {
	got, release := make(chan struct{}), make(chan struct{})
	arrived := sync.OnceFunc(func() { close(got) })
	answer := sync.OnceFunc(func() { close(release) })
	defer answer() // before rawServer's clean-up, which waits for its handler
	url := rawServer(t, func(c net.Conn) bool {
		arrived()
		<-release
		_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		return err == nil
	})
	type result struct {
		out *Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := Run(context.Background(), Config{Targets: []Target{{URL: url, Weight: 1}}, Mode: Closed, Level: 1,
			Requests: 1, Duration: time.Minute, Timeout: time.Minute, KeepAlive: true})
		done <- result{out, err}
	}()
	// Once the request has arrived, the loop only waits (and checks for
	// timeouts): 200 looks a millisecond apart span 20 or more checks.
	select {
	case <-got:
	case r := <-done:
		t.Fatalf("the trial ended before its request arrived: err %v", r.err)
	}
	const looks = 200
	buf := make([]byte, 1<<20)
	parked, inSyscall := 0, 0
	for range looks {
		state := goroutineState(buf, "load.(*epollLoop).run(")
		if bytes.HasPrefix(state, []byte("IO wait")) {
			parked++
		} else if bytes.HasPrefix(state, []byte("syscall")) {
			inSyscall++
		}
		time.Sleep(time.Millisecond)
	}
	answer()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if a := r.out.Acc; a.Successes() != 1 {
		t.Fatalf("successes %d, errors %v; want the one request answered", a.Successes(), a.Errors())
	}
	if parked == 0 || inSyscall > 0 {
		t.Errorf("of %d looks at the event loop, %d found it parked and %d in a system call; want some parked, none in a system call",
			looks, parked, inSyscall)
	}
}

// goroutineState returns the state ("IO wait", "syscall", "runnable"...)
// of the goroutine whose stack has frame, nil when there is none.
func goroutineState(buf []byte, frame string) []byte {
	for _, g := range bytes.Split(buf[:runtime.Stack(buf, true)], []byte("\n\n")) {
		if !bytes.Contains(g, []byte(frame)) {
			continue
		}
		if i, j := bytes.IndexByte(g, '['), bytes.IndexByte(g, ']'); i >= 0 && j > i {
			return g[i+1 : j]
		}
	}
	return nil
}

// BenchmarkParkedWaitReady is an event loop's wait when events are
// already waiting (a loaded closed loop's usual round): one non-blocking
// epoll_wait, no deadline armed; 0 allocs/op.
func BenchmarkParkedWaitReady(b *testing.B) {
	pw, _ := readyPipe(b)
	events := make([]unix.EpollEvent, 4)
	b.ReportAllocs()
	for b.Loop() {
		if n, err := pw.wait(events, checkEvery); err != nil || n != 1 {
			b.Fatalf("a pipe ready: %d events, err %v; want 1", n, err)
		}
	}
}

// TestParkedWaitFallback: where the Go poller did not take the epoll
// descriptor (rc nil), a wait blocks in epoll_wait and still honours its
// timeout and its events.
func TestParkedWaitFallback(t *testing.T) {
	pw, p := pipeWait(t)
	pw.rc = nil // as when SetReadDeadline failed at creation
	events := make([]unix.EpollEvent, 4)
	const timeout = 20 * time.Millisecond
	start := time.Now()
	if n, err := pw.wait(events, timeout); err != nil || n != 0 || time.Since(start) < timeout {
		t.Fatalf("nothing ready: %d events, err %v after %v; want 0 events, no error, after %v or more", n, err, time.Since(start), timeout)
	}
	if _, err := unix.Write(p[1], []byte{1}); err != nil {
		t.Fatal(err)
	}
	if n, err := pw.wait(events, time.Minute); err != nil || n != 1 || int(events[0].Fd) != p[0] {
		t.Fatalf("pipe written: %d events (%+v), err %v; want the pipe's EPOLLIN", n, events[:n], err)
	}
}
