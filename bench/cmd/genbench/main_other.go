//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "genbench needs Linux (epoll, sched_setaffinity, /proc)")
	os.Exit(2)
}
