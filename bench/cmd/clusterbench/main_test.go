package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// envBeMain makes the test binary behave as the clusterbench binary: the
// end-to-end tests run it as `clusterbench run ...`, and the runner in
// turn starts it as `clusterbench serve ...` (os.Executable), as does the
// prefork master for its children. The environment carries the variable
// down to every one of them.
const envBeMain = "CLUSTERBENCH_TEST_BE_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envBeMain) == "1" {
		os.Exit(Main(context.Background(), os.Stdout, os.Stderr, os.Args[1:]))
	}
	// The children this test binary starts are race-built copies of it:
	// without this each one sleeps a second when it exits (the race
	// runtime's atexit_sleep_ms default), and every stop waits for it.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		_ = os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	os.Exit(m.Run())
}
