package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Timeouts of the hardened http.Server. WriteTimeout leaves room for the
// longest stall fault plus the most expensive calculation.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = MaxStall + 30*time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 16 << 10
)

// DrainLinger is how long a drain keeps reading idle keep-alive connections
// before it closes them (Linger caps it at half the grace period). A client
// that sends its next request within it gets an answer with
// Connection: close instead of a connection closed under its request.
const DrainLinger = 500 * time.Millisecond

// Linger is the linger of a drain whose deadline is grace away:
// DrainLinger, or half of grace when that is shorter, so that connections
// closed at the end of the linger do not count as a drain cut short.
func Linger(grace time.Duration) time.Duration { return min(DrainLinger, grace/2) }

// Server is an http.Server with the project's timeouts and header limit and
// a drain that loses no request on a keep-alive connection.
//
// http.Server.Shutdown closes idle keep-alive connections at once, and drops
// a request it reads after the shutdown began: a client whose next request
// is already on the wire gets a closed connection and no answer. Drain
// instead stops accepting (taking what the listener's queue already holds),
// answers every request that arrives with Connection: close, and closes a
// connection that stays idle only after the linger, when no byte of a
// request is waiting on it and it has read nothing since it went idle. What is left is the race no server can close: a
// request sent on a connection that has been idle for the whole linger, in
// the instant the server closes it.
//
// Serve and Drain may be called once each, from different goroutines;
// BeginDrain any number of times.
type Server struct {
	srv      *http.Server
	draining atomic.Bool
	started  chan struct{} // closed once Serve has its listener
	ln       *drainListener

	mu         sync.Mutex
	conns      map[net.Conn]*connInfo
	drainStart time.Time
}

// connInfo is what the drain knows of one connection. state and idleReads
// change on every request without Server.mu; since is guarded by it.
type connInfo struct {
	state atomic.Int64 // an http.ConnState
	since time.Time    // when it was accepted, or last went idle during a drain
	// idleReads is the conn's read count when it last went idle: net/http
	// reports StateIdle, then reads the next request's first bytes into
	// its buffer (emptying the socket), and reports StateActive only once
	// the request's header is read whole. A count above this one means a
	// request is being read although the state still says idle.
	idleReads atomic.Uint64
}

func (ci *connInfo) connState() http.ConnState { return http.ConnState(ci.state.Load()) }

// connCloseHdr is the Connection header of an answer given during a drain.
var connCloseHdr = []string{"close"}

// NewServer returns a Server for h.
func NewServer(h http.Handler) *Server {
	s := &Server{conns: make(map[net.Conn]*connInfo), started: make(chan struct{})}
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.draining.Load() {
				w.Header()["Connection"] = connCloseHdr
			}
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnState:         s.track,
	}
	return s
}

// track keeps the state of every open connection. A connection's arrival
// and end change the set under mu; the state changes of each request go to
// its connInfo without mu (the readConn holds it), so that connections do
// not contend while serving, and take mu only during a drain.
func (s *Server) track(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		ci := &connInfo{since: time.Now()}
		ci.state.Store(int64(st))
		if rc, ok := c.(*readConn); ok {
			rc.info = ci
		}
		s.mu.Lock()
		s.conns[c] = ci
		s.mu.Unlock()
		return
	case http.StateClosed, http.StateHijacked:
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		return
	}
	rc, _ := c.(*readConn)
	var ci *connInfo
	if rc != nil {
		ci = rc.info
	} else {
		s.mu.Lock()
		ci = s.conns[c]
		s.mu.Unlock()
	}
	if ci == nil {
		return
	}
	if rc != nil && st == http.StateIdle {
		ci.idleReads.Store(rc.reads.Load())
	}
	ci.state.Store(int64(st))
	// Only the drain reads since, and never before its start (closeIdle
	// counts from the later of the two): no clock read and no lock per
	// request while serving. BeginDrain sets drainStart before draining:
	// a connection that goes idle between the two counts from drainStart,
	// a moment before it went idle.
	if st == http.StateIdle && s.draining.Load() {
		s.mu.Lock()
		ci.since = time.Now()
		s.mu.Unlock()
	}
}

// Serve accepts connections on ln until Drain stops it or accepting fails.
// It returns nil when Drain stopped it.
func (s *Server) Serve(ln net.Listener) error {
	s.ln = &drainListener{Listener: ln, accepted: make(chan struct{})}
	close(s.started)
	err := s.srv.Serve(s.ln)
	s.ln.finish()
	if s.ln.stopping.Load() && (errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed)) {
		return nil
	}
	return err
}

// BeginDrain makes every answer from now on carry Connection: close. Drain
// calls it; a caller that must keep accepting for a while after the drain
// began (a listener fed by another process) calls it first.
func (s *Server) BeginDrain() {
	s.mu.Lock()
	if s.drainStart.IsZero() {
		s.drainStart = time.Now()
	}
	s.mu.Unlock()
	s.draining.Store(true)
}

// Drain stops accepting, answers the requests that arrive with
// Connection: close, closes connections that stayed idle for linger, and
// returns nil once every connection has closed. When ctx ends first it
// closes what is left and returns an error. It waits for Serve to have
// started (or for ctx), so the two may be started in either order.
func (s *Server) Drain(ctx context.Context, linger time.Duration) error {
	s.BeginDrain()
	select {
	case <-s.started:
		s.ln.stop()
		// Until the accept loop has ended, a connection it takes from the
		// queue may not be tracked yet.
		select {
		case <-s.ln.accepted:
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for s.closeIdle(time.Now(), linger) > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			_ = s.srv.Close()
			return fmt.Errorf("drain: connections still busy at the deadline: %w", ctx.Err())
		}
	}
	// Nothing is left: Close only marks the server closed.
	return s.srv.Close()
}

// drainPoll is how often a drain looks for connections to close.
const drainPoll = 10 * time.Millisecond

// closeIdle closes the connections idle (or new and silent) for linger
// since the later of their last request and the start of the drain, unless
// a request's bytes are waiting on them or were read since they went idle,
// and returns how many connections are still open.
func (s *Server) closeIdle(now time.Time, linger time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, ci := range s.conns {
		if st := ci.connState(); st != http.StateIdle && st != http.StateNew {
			continue
		}
		if now.Sub(later(ci.since, s.drainStart)) < linger || unreadBytes(c) || readSinceIdle(c, ci) {
			continue
		}
		_ = c.Close()
		// Its goroutine reports StateClosed; until then it is counted.
		ci.state.Store(int64(http.StateClosed))
	}
	return len(s.conns)
}

// readSinceIdle reports whether c has read bytes since it went idle (or
// since it was accepted): bytes of a request that net/http holds in its
// buffer, where unreadBytes no longer sees them.
func readSinceIdle(c net.Conn, ci *connInfo) bool {
	rc, ok := c.(*readConn)
	return ok && rc.reads.Load() != ci.idleReads.Load()
}

// readConn is a connection that counts its reads that returned bytes, so
// that the drain can tell an idle connection from one whose next request
// net/http is reading. Its CloseWrite and SyscallConn are those of the
// connection it wraps, which net/http (an orderly close) and unreadBytes
// use.
type readConn struct {
	net.Conn
	reads atomic.Uint64
	info  *connInfo // set by Server.track at StateNew, before any request
}

func (c *readConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.reads.Add(1)
	}
	return n, err
}

// CloseWrite shuts down the writing side when the wrapped connection can.
func (c *readConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn is the wrapped connection's, or an error when it has none.
func (c *readConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("app: connection has no file descriptor")
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// drainListener is the listener Serve accepts on. stop makes it take what
// the kernel has queued on it already and then close, so that a connection
// that completed its handshake before the drain is served rather than reset.
type drainListener struct {
	net.Listener
	stopping atomic.Bool
	once     sync.Once
	accepted chan struct{} // closed when Accept will return no more connections
	finished sync.Once
}

// finish reports that Accept returns no more connections.
func (l *drainListener) finish() { l.finished.Do(func() { close(l.accepted) }) }

// Close closes the listener once; later calls (http.Server.Close after the
// drain closed it) report nothing.
func (l *drainListener) Close() error {
	l.once.Do(func() { _ = l.Listener.Close() })
	return nil
}

// deadliner is a listener whose blocked Accept a deadline can wake.
type deadliner interface{ SetDeadline(time.Time) error }

func (l *drainListener) stop() {
	l.stopping.Store(true)
	if d, ok := l.Listener.(deadliner); ok && d.SetDeadline(time.Now()) == nil {
		return
	}
	_ = l.Close()
}

func (l *drainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		return &readConn{Conn: c}, nil
	}
	if !l.stopping.Load() {
		return c, err
	}
	if c, ok := AcceptQueued(l.Listener); ok {
		return &readConn{Conn: c}, nil
	}
	_ = l.Close()
	// http.Server tracks each connection before it calls Accept again.
	l.finish()
	return nil, net.ErrClosed
}

// AcceptQueued accepts one connection already queued on ln without waiting,
// also when a deadline has woken ln's Accept (which then fails at once);
// false when none is queued, or on systems other than Linux. A drain calls
// it until false before it closes ln, so that connections that completed
// their handshake are served rather than reset.
func AcceptQueued(ln net.Listener) (net.Conn, bool) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var c net.Conn
	if rc.Control(func(fd uintptr) { c = acceptNow(fd) }) != nil || c == nil {
		return nil, false
	}
	return c, true
}

// Serve serves h on ln until ctx is done, then drains (Server.Drain) within
// grace. It returns nil after a clean drain, and the error of
// http.Server.Serve (after closing every connection) when serving fails
// first.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	srv := NewServer(h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		// Serve failed (an accept error): close the connections it had
		// accepted, whose goroutines would otherwise outlive this call.
		_ = srv.srv.Close()
		return err
	case <-ctx.Done():
	}
	dctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Drain(dctx, Linger(grace))
	if err != nil {
		err = fmt.Errorf("graceful shutdown did not finish within %s: %w", grace, err)
	}
	if serr := <-errc; serr != nil && err == nil {
		err = serr
	}
	return err
}
