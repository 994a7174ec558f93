//go:build linux

package prefork

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/clusterbench/clusterbench/servers/app"
)

// serveChild serves the API as the child of slot until ctx is done (SIGTERM)
// or its control socket ends (the master stops it or died), then drains
// within cfg.Grace.
func serveChild(ctx context.Context, cfg Config, slotEnv string) error {
	slot, err := parseSlot(slotEnv)
	if err != nil {
		return fmt.Errorf("prefork child: %w", err)
	}
	balance := os.Getenv(EnvBalance)
	addr, err := net.ResolveTCPAddr("tcp", os.Getenv(EnvAddr))
	if err != nil {
		return fmt.Errorf("prefork child: %s: %w", EnvAddr, err)
	}
	runtime.GOMAXPROCS(1)
	grace := cfg.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	linger := cfg.Linger
	if linger <= 0 {
		linger = app.Linger(grace)
	}

	ctl, err := fileConn(fdControl)
	if err != nil {
		return fmt.Errorf("prefork child: control socket on fd %d: %w", fdControl, err)
	}
	defer ctl.Close()
	var ln net.Listener
	var queue *connQueue
	switch balance {
	case BalanceShared, BalanceReusePort:
		f := os.NewFile(fdListener, "prefork-listener")
		ln, err = net.FileListener(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("prefork child: listener on fd %d: %w", fdListener, err)
		}
	case BalanceRoundRobin:
		queue = newConnQueue(addr)
		ln = queue
	default:
		return fmt.Errorf("prefork child: %s=%q is not a balance mode", EnvBalance, balance)
	}

	// The control reader takes connections (roundrobin) and ends at EOF:
	// the master closed its end to stop this child, or died.
	ctlDone := make(chan struct{})
	go func() {
		defer close(ctlDone)
		receive(ctl, queue)
	}()

	appCfg := cfg.App
	appCfg.Exec = app.Inline{ID: slot}
	srv := app.NewServer(app.Handler(appCfg))
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if _, err := ctl.Write([]byte{msgReady}); err != nil {
		// No master to tell: drain right away.
		_ = ctl.Close()
	}

	select {
	case <-ctx.Done():
	case <-ctlDone:
	case err := <-serveErr:
		_ = ctl.Close()
		<-ctlDone
		return fmt.Errorf("prefork child %d: serve: %w", slot, err)
	}
	deadline := time.Now().Add(grace)
	if queue != nil {
		// The master closes the control socket before it signals: take
		// every connection it passed before that, answering with
		// Connection: close meanwhile.
		srv.BeginDrain()
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-ctlDone:
		case <-t.C:
		}
		t.Stop()
	}
	dctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	err = srv.Drain(dctx, linger)
	if err != nil {
		err = fmt.Errorf("prefork child %d: drain did not finish within %s: %w", slot, grace, err)
	}
	if serr := <-serveErr; serr != nil && err == nil {
		err = serr
	}
	_ = ctl.Close()
	<-ctlDone
	if ctx.Err() == nil {
		// The drain began at the control socket's EOF. The master sends
		// SIGTERM just before it closes the socket, and that signal may not
		// be handled yet: returning now would let the caller restore the
		// default SIGTERM action and be killed by it on the way out. A
		// master that died sends nothing, hence the bound.
		t := time.NewTimer(sigtermWait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return err
}

// sigtermWait bounds how long a child that drained on its control socket's
// EOF waits for the master's SIGTERM to reach ctx.
const sigtermWait = time.Second

// parseSlot reads the slot number the master put in EnvSlot.
func parseSlot(s string) (int, error) {
	slot, err := strconv.Atoi(s)
	if err != nil || slot < 0 || slot > 1023 || strconv.Itoa(slot) != s {
		return 0, fmt.Errorf("%s=%q is not a slot (allowed: 0..1023)", EnvSlot, s)
	}
	return slot, nil
}

// fileConn wraps inherited descriptor fd as a Unix socket connection.
func fileConn(fd uintptr) (*net.UnixConn, error) {
	f := os.NewFile(fd, "prefork-control")
	if f == nil {
		return nil, errors.New("no such descriptor")
	}
	c, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("descriptor is a %T, not a Unix socket", c)
	}
	return uc, nil
}

// receive reads the control socket until it ends, handing each passed
// connection to queue (or closing it when there is no queue).
func receive(ctl *net.UnixConn, queue *connQueue) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4*8))
	for {
		n, oobn, _, _, err := ctl.ReadMsgUnix(buf, oob)
		if oobn > 0 {
			for _, c := range passedConns(oob[:oobn]) {
				if queue == nil || n != 9 || buf[0] != msgConn || queue.isClosed() {
					// Not ours to serve; unacknowledged, so the master
					// passes it on if this child ends first.
					_ = c.Close()
					continue
				}
				// Acknowledge before reading a byte of it: until then the
				// master may still pass it to another child.
				ack := append([]byte{msgAck}, buf[1:9]...)
				_, _ = ctl.Write(ack)
				queue.push(c)
			}
		}
		if errors.Is(err, syscall.ECONNRESET) {
			// The master closed its end with acknowledgements still
			// unread there: Linux reports that once, ahead of the
			// messages still queued here, which carry connections passed
			// before the close. Read on to the end.
			continue
		}
		if err != nil || (n == 0 && oobn == 0) {
			return
		}
	}
}

// passedConns turns the SCM_RIGHTS descriptors in oob into connections.
func passedConns(oob []byte) []net.Conn {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var conns []net.Conn
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			f := os.NewFile(uintptr(fd), "prefork-conn")
			c, err := net.FileConn(f)
			_ = f.Close()
			if err == nil {
				conns = append(conns, c)
			}
		}
	}
	return conns
}
