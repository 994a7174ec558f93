//go:build linux || darwin || freebsd || netbsd || openbsd

package progress

import (
	"os"

	"golang.org/x/sys/unix"
)

// TerminalWidth returns a function that reads the columns of the terminal
// f is (TIOCGWINSZ), read anew at each call so that a resized window is
// followed; it returns 0 (DefaultWidth) when f is not a terminal.
func TerminalWidth(f *os.File) func() int {
	return func() int {
		ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
		if err != nil {
			return 0
		}
		return int(ws.Col)
	}
}
