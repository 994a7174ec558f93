//go:build linux

package prefork

import (
	"net"
	"strconv"
	"testing"
)

// closeProbe is a net.Conn that records whether it was closed.
type closeProbe struct {
	net.Conn
	closed bool
}

func (c *closeProbe) Close() error { c.closed = true; return nil }

func TestPendingLifecycle(t *testing.T) {
	p := newPending()
	acked, orphan, failed, racing := &closeProbe{}, &closeProbe{}, &closeProbe{}, &closeProbe{}

	if !p.add(1, acked) || !p.add(2, orphan) || !p.add(3, failed) || !p.add(4, racing) {
		t.Fatal("add refused before the child was done")
	}
	if !p.sent(1, true) {
		t.Error("sent(ok) to a live child reported the send as failed")
	}
	p.ack(1)
	if !acked.closed {
		t.Error("an acknowledged connection keeps the master's copy open")
	}
	p.sent(2, true)
	if p.sent(3, false) { // the caller tries the next child with it
		t.Error("a failed send was reported as delivered")
	}
	if failed.closed {
		t.Error("a failed send closed the connection the caller still owns")
	}
	// 4 is still being sent when the child dies.
	got := p.orphans()
	if len(got) != 1 || got[0] != orphan || orphan.closed {
		t.Errorf("orphans = %v, want just the unacknowledged connection, open", got)
	}
	if p.add(5, &closeProbe{}) {
		t.Error("add accepted a connection for a child that is gone")
	}
	// It reached a child that is gone and will never read it: the caller
	// gets it back for another child.
	if p.sent(4, true) {
		t.Error("a send to a child that is gone was reported as delivered")
	}
	if racing.closed {
		t.Error("a send that reached a dead child closed the connection instead of giving it back")
	}
	p.ack(99) // unknown: ignored
}

func TestPendingRelease(t *testing.T) {
	p := newPending()
	a := &closeProbe{}
	racing := &closeProbe{}
	p.add(1, a)
	p.sent(1, true)
	p.add(2, racing)
	p.release()
	if !a.closed {
		t.Error("release left the master's copy of a passed connection open")
	}
	// A send that finishes after release reached a stopping child, which
	// reads it: delivered, and the master's copy goes.
	if !p.sent(2, true) || !racing.closed {
		t.Errorf("send racing release: delivered=false or copy open (closed=%v); want delivered and closed", racing.closed)
	}
	if len(p.orphans()) != 0 {
		t.Error("orphans after release: a stopped child's connections would be passed twice")
	}
}

func FuzzParseSlot(f *testing.F) {
	for _, s := range []string{"0", "7", "1023", "1024", "-1", "", "01", "+3", "x", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		slot, err := parseSlot(s)
		if err != nil {
			return
		}
		if slot < 0 || slot > 1023 || strconv.Itoa(slot) != s {
			t.Errorf("parseSlot(%q) = %d, want an error (not a canonical slot in 0..1023)", s, slot)
		}
	})
}
