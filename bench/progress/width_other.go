//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package progress

import "os"

// TerminalWidth returns a function that reports 0: reading a terminal's
// width is implemented on Linux and the BSDs (TIOCGWINSZ) only; here the
// live line is cut to DefaultWidth columns.
func TerminalWidth(*os.File) func() int {
	return func() int { return 0 }
}
