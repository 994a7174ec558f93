//go:build !unix

package main

import (
	"fmt"
	"runtime"
)

// renice fails: nice values are a Unix notion (check then says it runs at
// the current priority).
func renice(int) error { return fmt.Errorf("not available on %s", runtime.GOOS) }
