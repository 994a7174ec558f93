//go:build linux

package prefork

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sockets are the listening sockets the master holds for its whole life:
// one shared socket (shared, roundrobin) or one SO_REUSEPORT socket per slot
// (reuseport). Holding them keeps the connections queued on a socket alive
// while its child is restarted or replaced.
type sockets struct {
	addr   string         // the bound address, host:port with the real port
	shared net.Listener   // shared and roundrobin
	slots  []net.Listener // reuseport, index = slot
}

// bind creates the master's sockets. The first bind resolves port 0; every
// other socket binds that same port.
func bind(ctx context.Context, balance, addr string, workers int) (*sockets, error) {
	s := &sockets{}
	if balance != BalanceReusePort {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, &ListenError{Addr: addr, Err: listenCause(err)}
		}
		s.shared, s.addr = ln, ln.Addr().String()
		return s, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &ListenError{Addr: addr, Err: err}
	}
	lc := net.ListenConfig{Control: reusePort}
	for i := range workers {
		a := addr
		if i > 0 {
			a = net.JoinHostPort(host, strconv.Itoa(s.slots[0].Addr().(*net.TCPAddr).Port))
		}
		ln, err := lc.Listen(ctx, "tcp", a)
		if err != nil {
			s.close()
			return nil, &ListenError{Addr: a, Err: listenCause(err)}
		}
		s.slots = append(s.slots, ln)
	}
	s.addr = s.slots[0].Addr().String()
	return s, nil
}

// listenCause drops the *net.OpError wrapping, whose text repeats the address.
func listenCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// reusePort sets SO_REUSEPORT before bind (Go already sets SO_REUSEADDR).
func reusePort(_, _ string, c syscall.RawConn) error {
	var soErr error
	if err := c.Control(func(fd uintptr) {
		soErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	if soErr != nil {
		return fmt.Errorf("setsockopt SO_REUSEPORT: %w", soErr)
	}
	return nil
}

// listenerFor returns the socket a child of slot inherits, or nil when
// children get connections over their control socket (roundrobin).
func (s *sockets) listenerFor(balance string, slot int) net.Listener {
	switch balance {
	case BalanceShared:
		return s.shared
	case BalanceReusePort:
		return s.slots[slot]
	}
	return nil
}

// close closes every socket of the master.
func (s *sockets) close() {
	if s.shared != nil {
		_ = s.shared.Close()
	}
	for _, ln := range s.slots {
		_ = ln.Close()
	}
}

// dupFile duplicates ln's descriptor into an *os.File for exec.Cmd.ExtraFiles.
//
// ln.(*net.TCPListener).File() would do, but the File it returns puts the
// descriptor into blocking mode when exec calls Fd(), and O_NONBLOCK lives on
// the open file description that every child shares: running children would
// then block in accept(2). A File made by os.NewFile from a non-blocking
// descriptor keeps it non-blocking (os/file_unix.go, Go ≥ 1.22).
func dupFile(ln net.Listener) (*os.File, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("listener %T has no file descriptor", ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		nfd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, fmt.Errorf("dup listener: %w", dupErr)
	}
	return os.NewFile(uintptr(nfd), "prefork-listener"), nil
}
