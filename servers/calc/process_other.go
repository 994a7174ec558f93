//go:build !linux

package calc

import (
	"fmt"
	"os"
	"runtime"
)

// processPoolUnsupported says why the process pool cannot run here: it
// relies on Linux's Pdeathsig (workers die with the master) and on sizing
// the task pipe for the in-flight credits (F_SETPIPE_SZ).
func processPoolUnsupported() error {
	return fmt.Errorf("process pool needs Linux (this is %s)", runtime.GOOS)
}

// ensurePipeSize is never used: NewProcessPool fails first.
func ensurePipeSize(*os.File, int) error { return processPoolUnsupported() }
