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
	p.sent(1, true)
	p.ack(1)
	if !acked.closed {
		t.Error("an acknowledged connection keeps the master's copy open")
	}
	p.sent(2, true)
	p.sent(3, false) // the caller tries the next child with it
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
	p.sent(4, true) // it reached a child that is gone: nothing to do but drop it
	if !racing.closed {
		t.Error("a send that finished after the child was done left the master's copy open")
	}
	p.ack(99) // unknown: ignored
}

func TestPendingRelease(t *testing.T) {
	p := newPending()
	a := &closeProbe{}
	p.add(1, a)
	p.sent(1, true)
	p.release()
	if !a.closed {
		t.Error("release left the master's copy of a passed connection open")
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
