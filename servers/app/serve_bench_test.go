package app

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
)

// benchKeepAlive sends GET / over one keep-alive loopback connection to a
// server that serve starts on ln, one request at a time, and reads each
// answer whole.
func benchKeepAlive(b *testing.B, serve func(ln net.Listener, h http.Handler) (stop func())) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	stop := serve(ln, Handler(Config{Exec: Inline{ID: 3}, Pid: 4242}))
	defer stop()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET / answered %d", resp.StatusCode)
		}
	}
}

// BenchmarkKeepAliveHello is a keep-alive GET / loop through Server, whose
// drain tracks every connection's state (a ConnState hook)
// and counts every read; BenchmarkKeepAliveHelloPlain is the same loop
// through a bare http.Server with the same timeouts. Their ratio is what
// the drain's bookkeeping costs each request.
func BenchmarkKeepAliveHello(b *testing.B) {
	benchKeepAlive(b, func(ln net.Listener, h http.Handler) func() {
		s := NewServer(h)
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Serve(ln) }()
		return func() { _ = s.srv.Close(); <-done }
	})
}

func BenchmarkKeepAliveHelloPlain(b *testing.B) {
	benchKeepAlive(b, func(ln net.Listener, h http.Handler) func() {
		s := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: ReadHeaderTimeout,
			ReadTimeout:       ReadTimeout,
			WriteTimeout:      WriteTimeout,
			IdleTimeout:       IdleTimeout,
			MaxHeaderBytes:    MaxHeaderBytes,
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Serve(ln) }()
		return func() { _ = s.Close(); <-done }
	})
}

// nullConn is a connection whose Read returns at once, so that a benchmark
// of what wraps it measures the wrapper.
type nullConn struct{ net.Conn }

func (nullConn) Read(p []byte) (int, error) { return len(p), nil }

// BenchmarkDrainBookkeeping is the drain's bookkeeping alone for one
// keep-alive request while serving: one counted Read and the ConnState
// hook's Active and Idle calls (a Read of a connection that returns at
// once stands in for the socket).
func BenchmarkDrainBookkeeping(b *testing.B) {
	s := NewServer(http.NotFoundHandler())
	c := &readConn{Conn: nullConn{}}
	s.track(c, http.StateNew)
	buf := make([]byte, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
		s.track(c, http.StateActive)
		s.track(c, http.StateIdle)
	}
	if c.reads.Load() == 0 {
		b.Fatal("the reads were not counted")
	}
}

// BenchmarkDrainBookkeepingParallel is BenchmarkDrainBookkeeping from
// parallel goroutines, each with its own connection, as a server with many
// keep-alive clients has: what the bookkeeping costs once connections
// contend for what it shares.
func BenchmarkDrainBookkeepingParallel(b *testing.B) {
	s := NewServer(http.NotFoundHandler())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := &readConn{Conn: nullConn{}}
		s.track(c, http.StateNew)
		buf := make([]byte, 1)
		var n uint64
		for pb.Next() {
			if _, err := c.Read(buf); err != nil {
				b.Error(err)
				return
			}
			s.track(c, http.StateActive)
			s.track(c, http.StateIdle)
			n++
		}
		if got := c.reads.Load(); got != n {
			b.Errorf("%d reads counted, want %d", got, n)
		}
	})
}
