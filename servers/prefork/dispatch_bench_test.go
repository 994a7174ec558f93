//go:build linux

package prefork

import (
	"encoding/binary"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkSendConn is the master's cost of passing one connection to a
// round-robin child (sendConn plus the pending bookkeeping), the per-connection
// price of BalanceRoundRobin. The receiving side is drained with raw
// syscalls into reused buffers; unix.Recvmsg still allocates once per call
// (its sockaddr), so the master's own share is allocs/op minus one.
func BenchmarkSendConn(b *testing.B) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "master-end")
	fc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		b.Fatal(err)
	}
	ctl := fc.(*net.UnixConn)
	defer ctl.Close()
	defer unix.Close(fds[1])

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	p := newPending()
	buf, oob := make([]byte, 16), make([]byte, unix.CmsgSpace(4*8))
	var seq uint64
	b.ReportAllocs()
	for b.Loop() {
		seq++
		if !p.add(seq, conn) {
			b.Fatal("add refused")
		}
		if !p.sent(seq, sendConn(ctl, conn, seq) == nil) {
			b.Fatal("send failed")
		}
		_, oobn, _, _, err := unix.Recvmsg(fds[1], buf, oob, 0)
		if err != nil {
			b.Fatal(err)
		}
		// The passed descriptor is the 4 bytes after the cmsg header.
		if oobn < unix.CmsgLen(4) {
			b.Fatal("no descriptor received")
		}
		fd := int(int32(binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):])))
		_ = unix.Close(fd)
		p.mu.Lock()
		delete(p.conns, seq) // what ack does, without closing conn
		p.mu.Unlock()
	}
}
