package calcbatch

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/servers/calc"
)

// selfCommand is the argv that starts this test binary as a calc worker.
func selfCommand() []string { return []string{os.Args[0]} }

func TestMain(m *testing.M) {
	if calc.IsWorker(os.Getenv) {
		if err := calc.RunWorker(os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// The workers are race-built copies of this binary: without this each
	// one sleeps a second when it exits (the race runtime's
	// atexit_sleep_ms default), and every stop waits for it.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		_ = os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	os.Exit(m.Run())
}
