package load

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// The goroutine-per-connection engine: the lean engine for https and on
// systems without epoll. Each connection is a goroutine on a net.Conn
// (crypto/tls over it for https) with the same parser as the event loop;
// results go to a few lock-sharded accumulators merged at the end.

// gconn is one connection goroutine's state.
type gconn struct {
	conn
	t    *leanTrial
	nc   net.Conn
	sh   *shard
	reg  *registry
	last *atomic.Int64
}

// registry holds the open connections so that an interruption can close
// them all, cutting reads in progress.
type registry struct {
	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
}

func (r *registry) add(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.open[c] = struct{}{}
	return true
}

func (r *registry) remove(c net.Conn) {
	r.mu.Lock()
	delete(r.open, c)
	r.mu.Unlock()
}

func (r *registry) closeAll() {
	r.mu.Lock()
	r.closed = true
	conns := make([]net.Conn, 0, len(r.open))
	for c := range r.open {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (t *leanTrial) runGoroutines(ctx context.Context) (*metrics.Accumulator, time.Duration, error) {
	reg := &registry{open: make(map[net.Conn]struct{})}
	conns := t.cfg.Level
	if t.open {
		conns = t.maxConns
	}
	sh := newShards(loops(conns, 4*runtime.GOMAXPROCS(0)), t)
	live := t.cfg.Live.begin(len(sh.s))
	for i := range sh.s {
		sh.s[i].live = slot(live, i)
	}
	var (
		last    atomic.Int64
		wg      sync.WaitGroup
		watcher sync.WaitGroup
		done    = make(chan struct{})
	)
	watcher.Add(1)
	go func() { // closes every connection on interruption; owned and waited here
		defer watcher.Done()
		select {
		case <-ctx.Done():
			t.stop.Store(true) // before the reads fail, so they are not recorded
			reg.closeAll()
		case <-done:
		}
	}()
	newConn := func(i int) *gconn {
		g := &gconn{t: t, sh: &sh.s[i%len(sh.s)], reg: reg, last: &last}
		g.cursor = i % len(t.sched)
		g.reconnect()
		return g
	}
	if !t.open {
		for i := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g := newConn(i)
				defer g.close()
				for now := t.since(); now < t.end && !t.stop.Load() && t.claim(); now = t.since() {
					g.do(ctx, now, now)
				}
			}()
		}
	} else {
		t.dispatch(ctx, &wg, conns, newConn)
	}
	wg.Wait()
	close(done)
	watcher.Wait()
	acc := metrics.New()
	for i := range sh.s {
		acc.Merge(sh.s[i].acc)
	}
	return acc, time.Duration(last.Load()), nil
}

// dispatch paces an open loop: it hands each due request's intended send
// time to a free connection goroutine, starting one when none is free, up
// to conns; past MaxScheduleLag a request is dropped and counted.
func (t *leanTrial) dispatch(ctx context.Context, wg *sync.WaitGroup, conns int, newConn func(int) *gconn) {
	work := make(chan time.Duration)
	defer close(work)
	ps := newPace(t.pacer, t.end, 0, 1)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	started := 0
	for !ps.ended && !t.stop.Load() {
		now := t.since()
		if ps.next > now {
			timer.Reset(ps.next - now)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			continue
		}
		if now-ps.next > MaxScheduleLag {
			t.dropped.Add(1)
			ps.take()
			continue
		}
		if !t.claim() {
			return
		}
		select {
		case work <- ps.next:
			ps.take()
			continue
		default:
		}
		if started < conns {
			wg.Add(1)
			g := newConn(started)
			started++
			go func() {
				defer wg.Done()
				defer g.close()
				for origin := range work {
					g.do(ctx, t.since(), origin)
				}
			}()
		}
		// Every connection is busy: the request waits, its latency
		// counting, until one frees or it is MaxScheduleLag late. Reset
		// discards a fire nobody received (Go 1.23 timers), so a timer
		// left running here needs neither Stop nor a drain.
		timer.Reset(max(ps.next+MaxScheduleLag-t.since(), 0))
		select {
		case work <- ps.next:
			ps.take()
		case <-timer.C:
			t.dropped.Add(1)
			t.unclaim() // never sent: not one of Config.Requests
			ps.take()
		case <-ctx.Done():
			return
		}
	}
}

// do sends one request, intended at origin, and reads its response,
// connecting first when needed.
func (g *gconn) do(ctx context.Context, now, origin time.Duration) {
	t := g.t
	g.begin(t, now, origin)
	if g.nc == nil {
		if f := g.dial(ctx); f != "" {
			g.record(f)
			return
		}
		now = t.since()
		g.sent = now
		if !t.open {
			g.origin = now
		}
	}
	deadline := t.began.Add(now + t.timeout)
	_ = g.nc.SetDeadline(deadline)
	if _, err := g.nc.Write(g.tgt.req); err != nil {
		g.record(failureOf(err, "", failWrite))
		g.close()
		return
	}
	for {
		n, err := g.nc.Read(g.buf[g.w:])
		if n > 0 {
			g.got = true
			g.w += n
			done, f := g.parse()
			if f != "" {
				g.record(f)
				g.close()
				return
			}
			if done {
				g.record("")
				if !g.p.keepAlive() || !t.cfg.KeepAlive || g.r != g.w {
					g.close()
				}
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && g.p.eof() {
				g.record("")
			} else {
				g.record(failureOf(err, g.readFailure(isReset(err)), ""))
			}
			g.close()
			return
		}
	}
}

// dial connects (and for https, shakes hands) within the request timeout.
func (g *gconn) dial(ctx context.Context) failure {
	t := g.t
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	d := net.Dialer{}
	t.dials.Add(1)
	nc, err := d.DialContext(ctx, "tcp", t.ep.addr)
	if err != nil {
		return failureOf(err, failDial, failDial)
	}
	if t.ep.tls {
		tc := tls.Client(nc, &tls.Config{ServerName: t.ep.serverName, InsecureSkipVerify: t.cfg.Insecure, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return failureOf(err, failDial, failDial)
		}
		nc = tc
	}
	if !g.reg.add(nc) {
		_ = nc.Close()
		return failDial // interrupted: not recorded
	}
	g.nc = nc
	g.reconnect()
	return ""
}

// record adds the request in flight to the connection's shard. Requests
// cut by an interruption are not measurements and are not recorded.
func (g *gconn) record(f failure) {
	t := g.t
	if t.stop.Load() {
		return
	}
	now := t.since()
	g.sh.mu.Lock()
	g.conn.record(t, g.sh.acc, now, f)
	g.sh.live.publish(g.sh.acc)
	g.sh.mu.Unlock()
	for l := g.last.Load(); int64(now) > l && !g.last.CompareAndSwap(l, int64(now)); l = g.last.Load() {
	}
}

func (g *gconn) close() {
	if g.nc != nil {
		g.reg.remove(g.nc)
		_ = g.nc.Close()
		g.nc = nil
	}
}

// failureOf classifies a network error: a timeout, a refused connect, or
// otherwise the given kind (other when it is empty).
func failureOf(err error, other, fallback failure) failure {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return failTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return failRefused
	case other != "":
		return other
	}
	return fallback
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
