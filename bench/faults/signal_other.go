//go:build !unix

package faults

import "fmt"

// send fails: without Unix signals no fault can be applied.
func send(pid int, name string) error {
	return fmt.Errorf("SIG%s to pid %d: signals are not available on this system (faults need Linux)", name, pid)
}
