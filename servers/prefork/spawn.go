//go:build linux

package prefork

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/clusterbench/clusterbench/servers/spawn"
)

// Descriptors of a child: its end of the control socket and, for shared and
// reuseport, the listening socket.
const (
	fdControl  = 3
	fdListener = 4
)

// Messages on the control socket (SOCK_SEQPACKET, one message each).
const (
	msgReady = 'R' // child → master: serving
	msgConn  = 'C' // master → child: 'C' + 8-byte sequence number, one connection's fd in SCM_RIGHTS
	msgAck   = 'A' // child → master: 'A' + the sequence number of a connection it took
)

// child is one child process. The supervision loop owns every field except
// the immutable ones set by spawn (slot, id, pid, proc, ctl, started).
type child struct {
	slot    int
	id      uint64
	pid     int
	proc    *spawn.Child
	ctl     *net.UnixConn // master's end of the control socket
	pend    *pending      // roundrobin: connections passed and not yet acknowledged
	started time.Time
	reason  string // start, restart, reload

	ready      bool
	readyBy    time.Time // zero once ready or killed for being late
	stopping   bool
	stopReason string
	killAt     time.Time
	killed     bool
}

// exitEvent is sent once per child after it has been reaped and its control
// reader has finished.
type exitEvent struct {
	c     *child
	state *os.ProcessState
	err   error
}

// readyEvent is sent when a child reports that it serves.
type readyEvent struct{ c *child }

// spawn starts a child for slot through servers/spawn, which forks it
// from an OS thread locked for the child's life, so that its Pdeathsig
// fires only when the master is gone. One goroutine waits for the child and
// sends one exitEvent; a second reads the control socket and sends
// readyEvents, always before the exitEvent.
func (m *master) spawn(slot int, reason string) (*child, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	masterEnd := os.NewFile(uintptr(fds[0]), "prefork-control")
	childEnd := os.NewFile(uintptr(fds[1]), "prefork-control-child")
	defer childEnd.Close()
	fc, err := net.FileConn(masterEnd)
	_ = masterEnd.Close()
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ctl := fc.(*net.UnixConn)

	files := []*os.File{childEnd}
	if ln := m.socks.listenerFor(m.cfg.Balance, slot); ln != nil {
		f, err := dupFile(ln)
		if err != nil {
			_ = ctl.Close()
			return nil, err
		}
		defer f.Close()
		files = append(files, f)
	}

	m.nextID++
	c := &child{slot: slot, id: m.nextID, ctl: ctl, pend: newPending(), reason: reason}
	// A process group of its own: a terminal's Ctrl-C reaches the master
	// only, which then stops the children in order.
	proc, err := spawn.Start(context.Background(), spawn.Spec{
		Argv:   append([]string{m.cfg.Command}, m.cfg.Args...),
		Env:    childEnv(os.Environ(), m.cfg.Env, slot, m.socks.addr, m.cfg.Balance),
		Stdout: os.Stdout, Stderr: os.Stderr,
		ExtraFiles: files,
	})
	if err != nil {
		_ = ctl.Close()
		return nil, fmt.Errorf("start %s: %w", m.cfg.Command, err)
	}
	c.proc, c.pid, c.started = proc, proc.Pid(), time.Now()
	c.readyBy = c.started.Add(m.cfg.ReadyTimeout)
	readerDone := make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := proc.Wait()
		<-readerDone
		m.events <- exitEvent{c: c, state: proc.State(), err: err}
	}()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(readerDone)
		m.readControl(c)
	}()
	return c, nil
}

// readControl forwards the child's ready message and takes its
// acknowledgements until the control socket ends: the child exited, or the
// master closed its end. Connections passed to a child that died before
// acknowledging them are passed to another child.
func (m *master) readControl(c *child) {
	buf := make([]byte, 16)
	for {
		n, err := c.ctl.Read(buf)
		if err != nil || n == 0 {
			break
		}
		switch {
		case buf[0] == msgReady:
			m.events <- readyEvent{c: c}
		case buf[0] == msgAck && n == 9:
			c.pend.ack(binary.BigEndian.Uint64(buf[1:9]))
		}
	}
	if orphans := c.pend.orphans(); len(orphans) > 0 {
		m.log.Warn("connections re-dispatched", "slot", c.slot, "pid", c.pid, "count", len(orphans), "reason", "the child ended before taking them")
		m.redispatch(orphans)
	}
}

// childEnv is base without any earlier prefork variables, then extra, then
// the child's slot, address and balance mode.
func childEnv(base, extra []string, slot int, addr, balance string) []string {
	env := make([]string, 0, len(base)+len(extra)+3)
	for _, kv := range base {
		if strings.HasPrefix(kv, EnvSlot+"=") || strings.HasPrefix(kv, EnvAddr+"=") || strings.HasPrefix(kv, EnvBalance+"=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, extra...)
	return append(env, EnvSlot+"="+strconv.Itoa(slot), EnvAddr+"="+addr, EnvBalance+"="+balance)
}
