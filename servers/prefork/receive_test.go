//go:build linux

package prefork

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// A master that closes its control socket with acknowledgements unread
// makes the child's next read fail with ECONNRESET, ahead of the
// connections still queued for it: receive must read on and take them, or
// they stay in the socket's queue, accepted by nobody and never closed.
func TestReceiveAfterResetByMaster(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	master, child := os.NewFile(uintptr(fds[0]), "master"), os.NewFile(uintptr(fds[1]), "child")
	defer master.Close()
	mc, err := net.FileConn(master)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := net.FileConn(child)
	_ = child.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctl := cc.(*net.UnixConn)
	defer ctl.Close()

	// A connection to pass, and an acknowledgement the master never reads.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := ctl.Write([]byte{msgAck, 0, 0, 0, 0, 0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if err := sendConn(mc.(*net.UnixConn), conn, 2); err != nil {
		t.Fatal(err)
	}
	_ = mc.Close()
	_ = master.Close()

	queue := newConnQueue(ln.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		receive(ctl, queue)
		_ = queue.Close()
	}()
	got, err := queue.Accept()
	if err != nil {
		t.Fatalf("receive ended without taking the connection passed before the master's close: %v", err)
	}
	_ = got.Close()
	<-done
}
