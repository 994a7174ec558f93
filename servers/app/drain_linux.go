package app

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// acceptNow accepts one connection queued on the listening socket fd
// without waiting; nil when none is queued.
func acceptNow(fd uintptr) net.Conn {
	nfd, _, err := unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(nfd), "drained-conn")
	c, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return nil
	}
	return c
}

// unreadBytes reports whether bytes the server has not read yet wait on c.
func unreadBytes(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	if rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }) != nil {
		return false
	}
	return n > 0
}
