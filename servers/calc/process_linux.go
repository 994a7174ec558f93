package calc

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// processPoolUnsupported is nil: the process pool runs on Linux.
func processPoolUnsupported() error { return nil }

// ensurePipeSize makes the pipe f writes to hold at least need bytes,
// growing it with F_SETPIPE_SZ when it is smaller.
func ensurePipeSize(f *os.File, need int) error {
	const linuxDefault = 64 << 10
	if need <= 4096 {
		return nil // one page: every pipe holds at least that
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var size int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		size, serr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
		if serr == nil && size < need {
			size, serr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, max(need, linuxDefault))
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("task pipe: size it for %d bytes of in-flight tasks: %w", need, serr)
	}
	if size < need {
		return fmt.Errorf("task pipe holds %d bytes, %d needed for the in-flight tasks (lower --inflight)", size, need)
	}
	return nil
}
