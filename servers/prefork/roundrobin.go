//go:build linux

package prefork

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rrTarget is a child that takes connections: its slot and the master's end
// of its control socket.
type rrTarget struct {
	slot int
	ctl  *net.UnixConn
	pend *pending
}

// rrTable is the list of children the round-robin dispatcher may pass
// connections to. The supervision loop sets it; the dispatcher reads it. Safe
// for concurrent use.
type rrTable struct {
	mu      sync.Mutex
	targets []rrTarget
	changed chan struct{} // closed and replaced by every set
}

func newRRTable() *rrTable { return &rrTable{changed: make(chan struct{})} }

func (t *rrTable) set(ts []rrTarget) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.targets = ts
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *rrTable) snapshot() ([]rrTarget, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.targets, t.changed
}

// dispatch is the master's accept loop for roundrobin: it accepts only while
// some child can take a connection (otherwise connections wait in the
// kernel's backlog) and passes each one to the next child in slot order.
// It returns when stop is closed and its Accept is woken (by a deadline or
// the close of ln).
func (m *master) dispatch(ln net.Listener, table *rrTable, stop <-chan struct{}) {
	next := 0
	var delay time.Duration
	for {
		ts, changed := table.snapshot()
		if len(ts) == 0 {
			select {
			case <-changed:
				continue
			case <-stop:
				return
			}
		}
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-stop: // woken by a deadline, or closed, to stop
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			m.log.Warn("accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
				continue
			case <-stop:
				return
			}
		}
		delay = 0
		var ok bool
		if next, ok = m.handOff(conn, table, next, stop); !ok {
			_ = conn.Close()
			return
		}
	}
}

// handOff passes conn to the first child, from next on, that takes it, and
// returns the index after it. The master keeps its copy of conn until the
// child acknowledges it, so that a child that dies first does not lose it.
// While no child can take conn, handOff waits for the table to change. It
// reports false only when stop is closed first.
func (m *master) handOff(conn net.Conn, table *rrTable, next int, stop <-chan struct{}) (int, bool) {
	for {
		ts, changed := table.snapshot()
		for i := range ts {
			j := (next + i) % len(ts)
			seq := m.rrSeq.Add(1)
			if !ts[j].pend.add(seq, conn) {
				continue // being stopped, or gone
			}
			if ts[j].pend.sent(seq, sendConn(ts[j].ctl, conn, seq) == nil) {
				return j + 1, true
			}
		}
		select {
		case <-changed:
		case <-stop:
			return next, false
		}
	}
}

// redispatch passes conns, orphaned by a child that died before taking them,
// to other children.
func (m *master) redispatch(conns []net.Conn) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for _, c := range conns {
			if _, ok := m.handOff(c, m.rr, 0, m.rrStop); !ok {
				_ = c.Close()
			}
		}
	}()
}

// sendConn passes conn's descriptor over ctl with SCM_RIGHTS, tagged with
// seq. It uses the raw descriptor (SyscallConn) rather than File(), which
// would dup it and switch it to blocking mode.
func sendConn(ctl *net.UnixConn, conn net.Conn, seq uint64) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return fmt.Errorf("connection %T has no file descriptor", conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	msg := make([]byte, 9)
	msg[0] = msgConn
	binary.BigEndian.PutUint64(msg[1:], seq)
	var sendErr error
	if err := rc.Control(func(fd uintptr) {
		_, _, sendErr = ctl.WriteMsgUnix(msg, unix.UnixRights(int(fd)), nil)
	}); err != nil {
		return err
	}
	return sendErr
}

// pending holds the master's copies of the connections passed to one child
// and not yet acknowledged. Safe for concurrent use: the dispatcher adds,
// the control reader acknowledges, the supervision loop releases.
type pending struct {
	mu    sync.Mutex
	conns map[uint64]*passed
	done  bool // the child takes no more: stopped, or gone
	gone  bool // the child ended: it reads nothing more (orphans)
}

type passed struct {
	conn    net.Conn
	sending bool // sendConn is in progress: its caller decides
}

func newPending() *pending { return &pending{conns: make(map[uint64]*passed)} }

// add records conn before it is sent; false when the child takes no more.
func (p *pending) add(seq uint64, conn net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.conns[seq] = &passed{conn: conn, sending: true}
	return true
}

// sent ends the send of seq and reports whether the child has conn: the
// send succeeded and the child is not gone. When it reports false the
// connection is the caller's again, to pass to another child: the send
// failed, or it reached a child that ended before reading it. A send that
// raced with release reached a stopping child, which reads everything sent
// before its control socket closes, so the master's copy goes.
func (p *pending) sent(seq uint64, ok bool) bool {
	p.mu.Lock()
	e := p.conns[seq]
	switch {
	case e == nil: // acknowledged already
	case !ok || p.gone:
		delete(p.conns, seq)
		ok = false
	case p.done:
		delete(p.conns, seq)
		defer func() { _ = e.conn.Close() }()
	default:
		e.sending = false
	}
	p.mu.Unlock()
	return ok
}

// ack drops the master's copy of a connection the child took.
func (p *pending) ack(seq uint64) {
	p.mu.Lock()
	e := p.conns[seq]
	delete(p.conns, seq)
	p.mu.Unlock()
	if e != nil {
		_ = e.conn.Close()
	}
}

// release is for a child the master stops: it will read everything sent
// before its control socket closes, so the master's copies go.
func (p *pending) release() {
	for _, c := range p.take(false) {
		_ = c.Close()
	}
}

// orphans is for a child that has gone: the connections it never
// acknowledged, for another child. One still being sent goes back to its
// sender (sent reports false).
func (p *pending) orphans() []net.Conn { return p.take(true) }

// take marks the child done (and gone) and removes every connection not
// being sent.
func (p *pending) take(gone bool) []net.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	p.gone = p.gone || gone
	var out []net.Conn
	for seq, e := range p.conns {
		if !e.sending {
			out = append(out, e.conn)
			delete(p.conns, seq)
		}
	}
	return out
}

// connQueue is the listener of a roundrobin child: Accept returns the
// connections the master passed over the control socket. Safe for concurrent
// use.
type connQueue struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.closed) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }

func (q *connQueue) isClosed() bool {
	select {
	case <-q.closed:
		return true
	default:
		return false
	}
}

// push hands c to Accept, or closes it when the queue is closed.
func (q *connQueue) push(c net.Conn) {
	select {
	case q.conns <- c:
	case <-q.closed:
		_ = c.Close()
	}
}
