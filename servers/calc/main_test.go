package calc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Test-only worker and master modes of the re-executed test binary.
const (
	// envCrashOnce names a file: the first worker that creates it answers
	// crashAfter tasks, then exits with its later tasks unanswered.
	envCrashOnce = "CALC_TEST_CRASH_ONCE"
	crashAfter   = 10
	// envGarbage makes every worker answer with bytes that are no frame.
	envGarbage = "CALC_TEST_GARBAGE"
	// envMaster makes the test binary a master that starts a pool of
	// envMaster workers, prints their pids and waits to be killed.
	envMaster = "CALC_TEST_MASTER"
)

// selfCommand is the argv that starts this test binary as a worker.
func selfCommand() []string { return []string{os.Args[0]} }

func TestMain(m *testing.M) {
	switch {
	case IsWorker(os.Getenv):
		os.Exit(testWorker())
	case os.Getenv(envMaster) != "":
		os.Exit(testMaster())
	}
	// The children this test binary starts are race-built copies of it:
	// without this each one sleeps a second when it exits (the race
	// runtime's atexit_sleep_ms default), and every stop waits for it.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		_ = os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	os.Exit(m.Run())
}

func testWorker() int {
	// Only one *os.File may own each descriptor: an unreachable one closes
	// it when the garbage collector finalises it.
	if os.Getenv(envGarbage) != "" {
		out := os.NewFile(workerResultFD, "results")
		if err := WriteHello(out); err != nil {
			return 1
		}
		fmt.Fprint(out, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffnot a frame")
		return 0
	}
	if path := os.Getenv(envCrashOnce); path != "" {
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			f.Close()
			return crashingWorker(os.NewFile(workerTaskFD, "tasks"), os.NewFile(workerResultFD, "results"))
		}
	}
	if err := RunWorker(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// crashingWorker answers crashAfter tasks, reads one more and dies.
func crashingWorker(in, out *os.File) int {
	if err := WriteHello(out); err != nil {
		return 1
	}
	fr := newFrameReader(in, ioBuffer)
	for i := 0; ; i++ {
		body, err := fr.next()
		if err != nil {
			return 1
		}
		t, err := parseTask(body)
		if err != nil {
			return 1
		}
		if i == crashAfter {
			return 3 // task t and everything behind it stay unanswered
		}
		kind, _ := kindOf(t.kind)
		v, _ := compute(kind, int64(t.n))
		var b []byte
		b = appendResultHeader(b, t.id, 1, statusOK, len(v))
		if _, err := out.Write(append(b, v...)); err != nil {
			return 1
		}
	}
}

func testMaster() int {
	n, _ := strconv.Atoi(os.Getenv(envMaster))
	p, err := NewProcessPool(ProcessConfig{Workers: n, Command: []string{os.Args[0]}})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	for _, pid := range p.Pids() {
		fmt.Println(pid)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute) // bounded: the test kills this process long before
	p.Close()
	return 0
}
