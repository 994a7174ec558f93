//go:build unix

package main

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// renice sets the nice value of every thread of this process. Linux keeps
// one per thread, and a thread or child inherits its creator's; the second
// pass catches threads started during the first. Without /proc (macOS) it
// sets the process's.
func renice(nice int) error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return unix.Setpriority(unix.PRIO_PROCESS, 0, nice)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil && !errors.Is(err, unix.ESRCH) {
				return err
			}
		}
	}
	return nil
}
