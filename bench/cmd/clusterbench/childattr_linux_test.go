package main

import "syscall"

// testChildAttr makes a process the tests start die with the test binary
// (Pdeathsig), and with it everything that process started.
func testChildAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
