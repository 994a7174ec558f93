//go:build !linux

package app

import "net"

// acceptNow is Linux-only: elsewhere a drain does not take what is already
// queued on the listener, and the kernel resets those connections when the
// listener closes.
func acceptNow(uintptr) net.Conn { return nil }

// unreadBytes is Linux-only (SIOCINQ): elsewhere a drain cannot see a
// request waiting on an idle connection and closes it after the linger.
func unreadBytes(net.Conn) bool { return false }
