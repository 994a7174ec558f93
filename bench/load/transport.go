package load

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// errInterrupted fails dials after the trial was interrupted.
var errInterrupted = errors.New("load: trial interrupted")

// connTracker dials connections, remembers the open ones so that an
// interruption can close them all, and notes which request was the first
// on each connection (by its X-Vegeta-Seq), so that connections can be
// counted per server worker at no cost to the other requests.
type connTracker struct {
	dialer  net.Dialer
	dials   atomic.Int64
	mu      sync.Mutex
	open    map[*trackedConn]struct{}
	closed  bool
	firstMu sync.Mutex
	firsts  map[uint64]struct{} // seqs of first requests whose results are not yet seen
	pending atomic.Int64        // len(firsts)
}

func newConnTracker() *connTracker {
	return &connTracker{
		dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		open:   make(map[*trackedConn]struct{}),
		firsts: make(map[uint64]struct{}),
	}
}

func (t *connTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t.dials.Add(1)
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		_ = c.Close()
		return nil, errInterrupted
	}
	t.open[tc] = struct{}{}
	return tc, nil
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	conns := make([]*trackedConn, 0, len(t.open))
	for c := range t.open {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// trackedConn notes the first request written on it and unregisters
// itself when closed.
type trackedConn struct {
	net.Conn
	t       *connTracker
	once    sync.Once
	written atomic.Bool // a request has been written on it
}

func (c *trackedConn) Write(p []byte) (int, error) {
	if !c.written.Load() && c.written.CompareAndSwap(false, true) {
		c.t.noteFirstWrite(p)
	}
	return c.Conn.Write(p)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.open, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

// newConnValue is the value of metrics.HeaderNewConn (shared, never modified).
var newConnValue = []string{"1"}

// seqHeader is how the X-Vegeta-Seq header vegeta sets on every request
// appears in the bytes written to a connection.
var seqHeader = []byte("\r\nX-Vegeta-Seq: ")

// noteFirstWrite records the sequence number of the request in the first
// bytes written to a connection: that request is the connection's first.
func (t *connTracker) noteFirstWrite(p []byte) {
	i := bytes.Index(p, seqHeader)
	if i < 0 {
		return
	}
	var seq uint64
	digits := 0
	for _, c := range p[i+len(seqHeader):] {
		if c < '0' || c > '9' {
			break
		}
		seq = seq*10 + uint64(c-'0')
		digits++
	}
	if digits == 0 {
		return
	}
	t.firstMu.Lock()
	t.firsts[seq] = struct{}{}
	t.firstMu.Unlock()
	t.pending.Add(1)
}

// FirstOnConn reports whether the request with this sequence number was
// the first one sent on its connection, forgetting it. While no new
// connection awaits its first result it costs one atomic load.
func (t *connTracker) FirstOnConn(seq uint64) bool {
	if t.pending.Load() == 0 {
		return false
	}
	t.firstMu.Lock()
	_, ok := t.firsts[seq]
	if ok {
		delete(t.firsts, seq)
	}
	t.firstMu.Unlock()
	if ok {
		t.pending.Add(-1)
	}
	return ok
}

// markNewConn flags res, the first result of a new connection, for the
// accumulator (metrics.HeaderNewConn), so it counts the connection for the
// worker that answered.
func markNewConn(res *vegeta.Result) {
	if res.Headers == nil {
		res.Headers = http.Header{}
	}
	res.Headers[metrics.HeaderNewConn] = newConnValue
}

// newClient is the attacker's client: our own transport (no proxy,
// keep-alive per scenario) dialing through conns.
func newClient(conns *connTracker, cfg Config) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // never route loopback load through HTTP_PROXY (http.ProxyFromEnvironment is the usual default)
		DialContext:         conns.dial,
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
		DisableKeepAlives:   !cfg.KeepAlive,
	}
	return &http.Client{Transport: tr, Timeout: cfg.Timeout}
}
