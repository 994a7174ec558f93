//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/clusterbench/clusterbench/servers/spawn"
)

// fastResponse answers every request of the fast server.
const fastResponse = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Worker-Id: 0\r\n\r\nhello\n"

// maxBatch bounds the responses written at once (requests pipelined in one read).
const maxBatch = 1024

// serveFastChild is the child mode (--serve-fast ADDR): it dies with its
// parent (spawn.DieWithParent, which keeps this goroutine on its thread,
// and on EOF of stdin when stdin is a pipe) and serves addr until SIGTERM
// or SIGINT.
func serveFastChild(addr string) error {
	if err := spawn.DieWithParent(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
		go func() { // ends the process: nobody waits for it
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		return fmt.Errorf("--serve-fast %q: want 127.0.0.1:PORT", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(os.Stderr, "genbench fast server listening on %s\n", addr)
	return serveFast(ctx, int(f.Fd()))
}

// serveFast answers every HTTP/1.1 request (no body) arriving on the
// listening socket lfd with fastResponse, from one goroutine over epoll,
// until ctx ends; requests pipelined in one read get one response each,
// found by counting "\r\n\r\n" terminators. A connection whose responses
// do not fit its socket buffer at once is closed. lfd is made
// non-blocking and left open; the connections are closed on return.
func serveFast(ctx context.Context, lfd int) error {
	if err := unix.SetNonblock(lfd, true); err != nil {
		return err
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	defer unix.Close(ep)
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	defer unix.Close(wake)
	defer context.AfterFunc(ctx, func() { _, _ = unix.Write(wake, []byte{1, 0, 0, 0, 0, 0, 0, 0}) })()
	watch := func(fd int) error {
		return unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
	}
	if err := errors.Join(watch(lfd), watch(wake)); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	conns := map[int]*int{} // fd → bytes of a terminator matched so far
	defer func() {
		for fd := range conns {
			unix.Close(fd)
		}
	}()
	closeConn := func(fd int) { unix.Close(fd); delete(conns, fd) }
	events := make([]unix.EpollEvent, 128)
	buf := make([]byte, 64<<10)
	out := make([]byte, 0, maxBatch*len(fastResponse))
	for ctx.Err() == nil {
		n, err := unix.EpollWait(ep, events, -1)
		if err == unix.EINTR {
			continue
		} else if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range events[:n] {
			switch fd := int(ev.Fd); fd {
			case wake:
				return nil
			case lfd:
				for range 64 { // accept a burst, bounded; the rest wakes epoll again
					c, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
					if err != nil {
						break
					}
					_ = unix.SetsockoptInt(c, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
					if watch(c) != nil {
						unix.Close(c)
						continue
					}
					conns[c] = new(int)
				}
			default:
				state, ok := conns[fd]
				if !ok {
					continue
				}
				m, err := unix.Read(fd, buf)
				if err == unix.EAGAIN {
					continue
				}
				if m <= 0 || err != nil {
					closeConn(fd)
					continue
				}
				k := countRequests(state, buf[:m])
				for k > 0 {
					batch := min(k, maxBatch)
					k -= batch
					out = out[:0]
					for range batch {
						out = append(out, fastResponse...)
					}
					if w, err := unix.Write(fd, out); err != nil || w < len(out) {
						closeConn(fd)
						break
					}
				}
			}
		}
	}
	return nil
}

// countRequests returns how many "\r\n\r\n" end in b, given that *state
// bytes of one were matched at the end of the previous read, and updates
// *state.
func countRequests(state *int, b []byte) int {
	const term = "\r\n\r\n"
	n := 0
	for _, c := range b {
		switch {
		case c == term[*state]:
			if *state++; *state == len(term) {
				n, *state = n+1, 0
			}
		case c == '\r':
			*state = 1
		default:
			*state = 0
		}
	}
	return n
}
