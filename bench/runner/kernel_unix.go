//go:build unix

package runner

import "golang.org/x/sys/unix"

// kernelRelease is the kernel's release (uname -r), or "".
func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
