//go:build !linux

package main

import "syscall"

// testChildAttr starts a process plainly: without Linux's Pdeathsig, it
// outlives a test binary that dies before stopping it.
func testChildAttr() *syscall.SysProcAttr { return nil }
