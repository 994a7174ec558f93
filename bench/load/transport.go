package load

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// errInterrupted fails dials after the trial was interrupted.
var errInterrupted = errors.New("load: trial interrupted")

// connTracker dials connections and remembers the open ones so that an
// interruption can close them all.
type connTracker struct {
	dialer net.Dialer
	dials  atomic.Int64
	mu     sync.Mutex
	open   map[*trackedConn]struct{}
	closed bool
}

func newConnTracker() *connTracker {
	return &connTracker{
		dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		open:   make(map[*trackedConn]struct{}),
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

type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
	used atomic.Bool // a request has been sent on it
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

// tracingTransport marks the response to the first request sent on each
// connection with metrics.HeaderNewConn, so the accumulator can count
// connections per server worker (the worker that answered first on it).
// httptrace's Reused flag is not enough: a connection dialed for one
// request but first used by another comes out of the idle pool, and is
// reported as reused although it never carried a request.
type tracingTransport struct {
	base *http.Transport
}

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	fresh := false
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if c, ok := info.Conn.(*trackedConn); ok {
			fresh = c.used.CompareAndSwap(false, true)
		}
	}}
	resp, err := t.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil && fresh {
		resp.Header[metrics.HeaderNewConn] = newConnValue
	}
	return resp, err
}

func newClient(conns *connTracker, cfg Config) *http.Client {
	base := &http.Transport{
		Proxy:               nil, // never route loopback load through HTTP_PROXY (gotcha G15)
		DialContext:         conns.dial,
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
		DisableKeepAlives:   !cfg.KeepAlive,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: &tracingTransport{base: base}, Timeout: cfg.Timeout}
}

// CloseIdleConnections lets a caller release a client's pooled connections.
func (t *tracingTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }
