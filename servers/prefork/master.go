//go:build linux

package prefork

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
)

// master supervises the children. Its fields belong to the goroutine that
// runs loop; children and the round-robin dispatcher talk to it through
// events.
type master struct {
	cfg    Config
	log    *slog.Logger
	socks  *sockets
	events chan any
	wg     sync.WaitGroup // every goroutine the master starts

	nextID    uint64
	slots     []*slotState
	live      map[*child]struct{} // started, not yet reaped
	budget    crashBudget
	listening bool
	stopping  bool
	fatal     error
	undrained int // stopped children that were killed or exited with an error

	reloading   bool
	reloadSlot  int
	reloadAgain bool

	rr     *rrTable      // roundrobin only
	rrStop chan struct{} // closed to stop the dispatcher
	rrDone chan struct{} // closed when the dispatcher has returned; nil until it starts
	rrSeq  atomic.Uint64 // sequence numbers of passed connections
}

// slotState is one slot: the child serving it, and a replacement being
// started by a reload.
type slotState struct {
	cur, next *child
	failures  int       // consecutive unstable exits
	restartAt time.Time // zero: no restart pending
}

func serveMaster(ctx context.Context, cfg Config) error {
	socks, err := bind(ctx, cfg.Balance, cfg.Addr, cfg.Workers)
	if err != nil {
		return err
	}
	defer socks.close()
	m := &master{
		cfg:    cfg,
		log:    cfg.Logger,
		socks:  socks,
		events: make(chan any),
		live:   make(map[*child]struct{}),
		budget: crashBudget{budget: cfg.CrashBudget, window: cfg.CrashWindow},
	}
	for range cfg.Workers {
		m.slots = append(m.slots, &slotState{})
	}
	if cfg.Balance == BalanceRoundRobin {
		m.rr = newRRTable()
		m.rrStop = make(chan struct{})
	}
	m.log.Info("master started", "pid", os.Getpid(), "addr", socks.addr, "balance", cfg.Balance, "workers", cfg.Workers)
	for slot := range m.slots {
		m.start(slot, "start")
	}
	m.loop(ctx)
	m.wg.Wait()
	switch {
	case m.fatal != nil:
		return m.fatal
	case m.undrained > 0:
		return fmt.Errorf("%w: %d of them killed after the %s grace period or exited with an error", ErrNotDrained, m.undrained, m.cfg.Grace)
	}
	m.log.Info("stopped", "pid", os.Getpid())
	return nil
}

// loop handles events until the master has stopped and every child has
// been reaped.
func (m *master) loop(ctx context.Context) {
	done := ctx.Done()
	reload := m.cfg.Reload
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for !m.stopping || len(m.live) > 0 {
		var timerC <-chan time.Time
		if at, ok := m.nextDeadline(); ok {
			timer.Reset(time.Until(at))
			timerC = timer.C
		}
		select {
		case ev := <-m.events:
			switch ev := ev.(type) {
			case readyEvent:
				m.onReady(ev.c)
			case exitEvent:
				m.onExit(ev)
			}
		case <-timerC:
			m.onTimer(time.Now())
		case <-done:
			done = nil
			m.beginStop("shutdown")
		case <-reload:
			m.onReload()
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// nextDeadline is the earliest pending restart, readiness deadline or kill.
func (m *master) nextDeadline() (time.Time, bool) {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	for _, s := range m.slots {
		earliest(s.restartAt)
	}
	for c := range m.live {
		switch {
		case c.stopping && !c.killed:
			earliest(c.killAt)
		case !c.stopping && !c.ready:
			earliest(c.readyBy)
		}
	}
	return at, !at.IsZero()
}

// start spawns the child of slot: for reason "reload" as the slot's
// replacement, otherwise as its serving child.
func (m *master) start(slot int, reason string) {
	s := m.slots[slot]
	c, err := m.spawn(slot, reason)
	if err != nil {
		m.log.Error("child start failed", "slot", slot, "reason", reason, "err", err)
		if reason == "reload" {
			m.abortReload(fmt.Sprintf("slot %d: %v", slot, err))
			return
		}
		m.scheduleRestart(slot, true, fmt.Sprintf("slot %d: %v", slot, err))
		return
	}
	m.live[c] = struct{}{}
	attrs := []any{"slot", slot, "pid", c.pid, "reason", reason}
	if reason == "reload" {
		s.next = c
		if s.cur != nil {
			attrs = append(attrs, "replaces_pid", s.cur.pid)
		}
	} else {
		s.cur = c
	}
	msg := "child started"
	if reason == "restart" {
		msg = "child restarted"
	}
	m.log.Info(msg, attrs...)
}

func (m *master) onReady(c *child) {
	if c.stopping || c.ready {
		return
	}
	c.ready, c.readyBy = true, time.Time{}
	m.log.Info("child ready", "slot", c.slot, "pid", c.pid, "startup", time.Since(c.started).Round(time.Microsecond))
	s := m.slots[c.slot]
	if c == s.next { // a reload's replacement took over
		old := s.cur
		s.cur, s.next, s.restartAt = c, nil, time.Time{}
		if old != nil {
			m.stop(old, "reload")
		}
		m.updateTargets()
		m.advanceReload()
		return
	}
	m.updateTargets()
	if m.listening {
		return
	}
	for _, s := range m.slots {
		if s.cur == nil || !s.cur.ready {
			return
		}
	}
	m.listening = true
	if m.rr != nil {
		m.rrDone = make(chan struct{})
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer close(m.rrDone)
			m.dispatch(m.socks.shared, m.rr, m.rrStop)
		}()
	}
	m.log.Info("listening", "model", "prefork", "addr", m.socks.addr, "balance", m.cfg.Balance, "workers", m.cfg.Workers, "pid", os.Getpid())
}

func (m *master) onExit(ev exitEvent) {
	c := ev.c
	delete(m.live, c)
	_ = c.ctl.Close()
	uptime := time.Since(c.started)
	status := exitStatus(ev.state, ev.err)
	if c.stopping {
		clean := ev.state != nil && ev.state.Success() && !c.killed
		if !clean && c.ready {
			m.undrained++
		}
		m.log.Info("child exited", "slot", c.slot, "pid", c.pid, "status", status, "reason", c.stopReason, "uptime", uptime.Round(time.Millisecond))
		return
	}
	m.log.Warn("child exited", "slot", c.slot, "pid", c.pid, "status", status, "reason", "unexpected", "ready", c.ready, "uptime", uptime.Round(time.Millisecond))
	s := m.slots[c.slot]
	desc := fmt.Sprintf("slot %d pid %d %s after %s", c.slot, c.pid, status, uptime.Round(time.Millisecond))
	switch c {
	case s.next: // a reload's replacement failed: keep the old child
		s.next = nil
		m.abortReload(desc)
		if s.cur == nil && s.restartAt.IsZero() {
			m.scheduleRestart(c.slot, true, desc)
		}
	case s.cur:
		s.cur = nil
		m.updateTargets()
		if s.next == nil {
			m.scheduleRestart(c.slot, unstable(c.ready, uptime, m.cfg.MinUptime), desc)
		}
	}
}

// scheduleRestart arms the restart of slot after an unasked exit, or gives
// up when unstable exits exceed the crash budget.
func (m *master) scheduleRestart(slot int, isUnstable bool, desc string) {
	if m.stopping {
		return
	}
	s := m.slots[slot]
	if !isUnstable {
		s.failures = 0
	} else {
		s.failures++
		n, tripped := m.budget.add(time.Now())
		if tripped {
			m.fatal = &CrashLoopError{Exits: n, Budget: m.cfg.CrashBudget, Window: m.cfg.CrashWindow, Last: desc}
			m.log.Error("crash loop", "exits", n, "budget", m.cfg.CrashBudget, "window", m.cfg.CrashWindow, "last", desc)
			m.beginStop("crash loop")
			return
		}
	}
	d := backoff(s.failures, m.cfg.BackoffMin, m.cfg.BackoffMax)
	s.restartAt = time.Now().Add(d)
	m.log.Info("child restart scheduled", "slot", slot, "after", d, "unstable_exits", s.failures)
}

func (m *master) onTimer(now time.Time) {
	for slot, s := range m.slots {
		if !s.restartAt.IsZero() && !now.Before(s.restartAt) {
			s.restartAt = time.Time{}
			if !m.stopping && s.cur == nil && s.next == nil {
				m.start(slot, "restart")
			}
		}
	}
	for c := range m.live {
		switch {
		case c.stopping && !c.killed && !now.Before(c.killAt):
			c.killed = true
			m.log.Warn("child killed", "slot", c.slot, "pid", c.pid, "reason", fmt.Sprintf("still running %s after stop (grace %s)", m.cfg.Grace+KillSlack, m.cfg.Grace))
			_ = c.proc.Signal(syscall.SIGKILL)
		case !c.stopping && !c.ready && !c.readyBy.IsZero() && !now.Before(c.readyBy):
			c.readyBy = time.Time{}
			m.log.Warn("child killed", "slot", c.slot, "pid", c.pid, "reason", fmt.Sprintf("not ready within %s", m.cfg.ReadyTimeout))
			_ = c.proc.Signal(syscall.SIGKILL)
		}
	}
}

// stop asks c to drain: it leaves the dispatch table, it gets SIGTERM, and
// its control socket is closed after the connections already passed to it.
// A stopping child is never restarted.
//
// SIGTERM goes first: a child that saw the control socket's EOF first could
// drain, restore the default SIGTERM action on its way out and then be
// killed by the signal, which would read as a failed drain. A signal sent
// before the close is delivered before the child can read the EOF.
func (m *master) stop(c *child, reason string) {
	if c.stopping {
		return
	}
	c.stopping, c.stopReason = true, reason
	c.killAt = time.Now().Add(m.cfg.Grace + KillSlack)
	m.log.Info("child stopping", "slot", c.slot, "pid", c.pid, "reason", reason)
	m.updateTargets()
	_ = c.proc.Signal(syscall.SIGTERM)
	c.pend.release() // the child reads what was passed before the close
	_ = c.ctl.Close()
}

// beginStop stops accepting (closes the master's listening sockets),
// cancels pending restarts and reloads, and stops every child.
func (m *master) beginStop(reason string) {
	if m.stopping {
		return
	}
	m.stopping = true
	m.log.Info("draining", "reason", reason, "children", len(m.live), "grace", m.cfg.Grace)
	// Stop accepting first: with the master's copies of the listening
	// sockets closed, a socket ends when the last child that holds it has
	// taken what its queue holds and closed it, and a new connection is
	// refused from then on rather than completing a handshake that nobody
	// will ever accept.
	if m.rr != nil {
		m.stopDispatch()
	}
	m.socks.close()
	m.reloading, m.reloadAgain = false, false
	for _, s := range m.slots {
		s.restartAt = time.Time{}
	}
	for c := range m.live {
		m.stop(c, reason)
	}
}

// stopDispatch stops the round-robin dispatcher and passes the connections
// still queued on the listening socket to the children, which have not been
// stopped yet: the socket's close would reset them.
func (m *master) stopDispatch() {
	close(m.rrStop)
	if m.rrDone == nil {
		return // not dispatching yet: nothing was accepted
	}
	ln := m.socks.shared
	if d, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
		_ = d.SetDeadline(time.Now()) // wakes the dispatcher's Accept
	} else {
		_ = ln.Close()
	}
	<-m.rrDone
	next, passed, dropped := 0, 0, 0
	for {
		conn, ok := app.AcceptQueued(ln)
		if !ok {
			break
		}
		// rrStop is closed: one pass over the children, no waiting. A
		// connection none of them takes is closed unanswered: counted, so
		// that a lossy shutdown shows in the log.
		if next, ok = m.handOff(conn, m.rr, next, m.rrStop); !ok {
			_ = conn.Close()
			dropped++
			continue
		}
		passed++
	}
	switch {
	case dropped > 0:
		m.log.Warn("queued connections passed on", "passed", passed, "dropped", dropped, "reason", "shutdown")
	case passed > 0:
		m.log.Info("queued connections passed on", "passed", passed, "dropped", 0, "reason", "shutdown")
	}
}

func (m *master) onReload() {
	switch {
	case m.stopping:
		return
	case !m.listening:
		m.log.Warn("reload ignored", "reason", "children are not ready yet")
		return
	case m.reloading:
		m.reloadAgain = true
		m.log.Info("reload queued", "reason", "a reload is in progress")
		return
	}
	m.reloading, m.reloadSlot = true, -1
	m.log.Info("reloading", "workers", len(m.slots))
	m.advanceReload()
}

// advanceReload starts the replacement of the next slot, or ends the reload.
func (m *master) advanceReload() {
	if !m.reloading || m.stopping {
		return
	}
	m.reloadSlot++
	if m.reloadSlot < len(m.slots) {
		m.start(m.reloadSlot, "reload")
		return
	}
	m.reloading = false
	m.log.Info("reloaded", "workers", len(m.slots))
	if m.reloadAgain {
		m.reloadAgain = false
		m.onReload()
	}
}

func (m *master) abortReload(why string) {
	if !m.reloading {
		return
	}
	m.reloading, m.reloadAgain = false, false
	m.log.Error("reload aborted", "reason", why)
}

// updateTargets publishes the ready, serving children to the dispatcher.
func (m *master) updateTargets() {
	if m.rr == nil {
		return
	}
	var ts []rrTarget
	for _, s := range m.slots {
		for _, c := range []*child{s.cur, s.next} {
			if c != nil && c.ready && !c.stopping {
				ts = append(ts, rrTarget{slot: c.slot, ctl: c.ctl, pend: c.pend})
			}
		}
	}
	m.rr.set(ts)
}

// exitStatus describes how a child ended: "exit status 1", "signal: killed".
func exitStatus(state *os.ProcessState, err error) string {
	if state != nil {
		return state.String()
	}
	if err != nil {
		return err.Error()
	}
	return "unknown"
}
