//go:build linux

package prefork

import (
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
// It returns when stop is closed and ln is closed.
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
		if next, ok = handOff(conn, table, next, stop); !ok {
			_ = conn.Close()
			return
		}
	}
}

// handOff passes conn to the first child, from next on, that takes it, and
// returns the index after it. While no child can take it, it waits for the
// table to change. It reports false only when stop is closed first.
func handOff(conn net.Conn, table *rrTable, next int, stop <-chan struct{}) (int, bool) {
	for {
		ts, changed := table.snapshot()
		for i := range ts {
			j := (next + i) % len(ts)
			if sendConn(ts[j].ctl, conn) == nil {
				_ = conn.Close() // the child holds its own descriptor now
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

// sendConn passes conn's descriptor over ctl with SCM_RIGHTS. It uses the
// raw descriptor (SyscallConn) rather than File(), which would dup it and
// switch it to blocking mode.
func sendConn(ctl *net.UnixConn, conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return fmt.Errorf("connection %T has no file descriptor", conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var sendErr error
	if err := rc.Control(func(fd uintptr) {
		_, _, sendErr = ctl.WriteMsgUnix([]byte{msgConn}, unix.UnixRights(int(fd)), nil)
	}); err != nil {
		return err
	}
	return sendErr
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

// push hands c to Accept, or closes it when the queue is closed.
func (q *connQueue) push(c net.Conn) {
	select {
	case q.conns <- c:
	case <-q.closed:
		_ = c.Close()
	}
}
