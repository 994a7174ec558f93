package servertest

import (
	"net"
	"strings"
	"testing"
	"time"
)

// serveOnce accepts one connection on a fresh listener, hands it to end,
// then closes the listener, so that the next dial is refused.
func serveOnce(t *testing.T, end func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err == nil {
			end(c.(*net.TCPConn))
		}
		_ = ln.Close()
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

// A connection accepted and closed without an answer is the lost request
// UntilRefused exists to catch: an error, not a reset.
func TestUntilRefusedClosedWithoutAnswer(t *testing.T) {
	addr := serveOnce(t, func(c *net.TCPConn) {
		// Wait for the request, so that the close is an orderly FIN after
		// the request was read, not a reset of unread bytes.
		_, _ = c.Read(make([]byte, 512))
		_ = c.Close()
	})
	p, err := UntilRefused(addr, 10*time.Second, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "closed without an answer") {
		t.Fatalf("UntilRefused = %+v, %v; want the error \"closed without an answer\"", p, err)
	}
}

// A connection reset by the kernel is counted, and the probing goes on to
// the refusal.
func TestUntilRefusedReset(t *testing.T) {
	addr := serveOnce(t, func(c *net.TCPConn) {
		_ = c.SetLinger(0) // close sends RST
		_ = c.Close()
	})
	p, err := UntilRefused(addr, 10*time.Second, 10*time.Second)
	if err != nil || p.Reset < 1 || p.Answered != 0 {
		t.Fatalf("UntilRefused = %+v, %v; want at least one reset, none answered, then nil", p, err)
	}
}
