package servertest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Probes is what UntilRefused saw before a connection was refused.
type Probes struct {
	Answered int // accepted and answered
	// Reset counts connections reset (ECONNRESET) at connect or before
	// their answer: they reached a listening socket in the instant it closed, and the
	// kernel reset them. No request of theirs was answered, and none could
	// have been; they are not left hanging.
	Reset int
}

// UntilRefused dials addr, one connection at a time, until one is refused
// (ECONNREFUSED), as it must be once a draining server has stopped
// accepting. A connection accepted instead is sent GET / and must be
// answered within answer: one left unanswered that long (accepted and
// hung, as behind a listening socket nobody accepts on) is an error, as is
// one closed without a whole 200 answer other than by a reset (EOF, a
// malformed answer, an error status), and no refusal within total.
func UntilRefused(addr string, answer, total time.Duration) (Probes, error) {
	var p Probes
	deadline := time.Now().Add(total)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", addr)
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return p, nil
		case errors.Is(err, syscall.ECONNRESET):
			p.Reset++
			continue
		case err != nil:
			return p, fmt.Errorf("dial %s: %w (want ECONNREFUSED or a connection that is answered)", addr, err)
		}
		err = getOnce(c, answer)
		var ne net.Error
		switch {
		case err == nil:
			p.Answered++
		case errors.As(err, &ne) && ne.Timeout():
			return p, fmt.Errorf("a connection accepted by %s was not answered within %s (accepted and left hanging): %w", addr, answer, err)
		case errors.Is(err, syscall.ECONNRESET):
			p.Reset++
		default:
			// EOF, a malformed answer, a non-200 status: the server took
			// the connection and did not answer its request, the lost
			// request this probe exists to catch.
			return p, fmt.Errorf("a connection accepted by %s, then closed without an answer: %w", addr, err)
		}
	}
	return p, fmt.Errorf("new connections to %s still accepted after %s, want ECONNREFUSED", addr, total)
}

// closeGET is the request of a probe: GET / on a connection of its own.
var closeGET = []byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

// getOnce sends GET / on c and reads the whole answer within d, then
// closes c.
func getOnce(c net.Conn, d time.Duration) error {
	defer c.Close()
	r := roundTrip(c, bufio.NewReader(c), closeGET, d)
	if r.Err == nil && r.Status != http.StatusOK {
		return fmt.Errorf("status %d", r.Status)
	}
	return r.Err
}
