//go:build linux

package runner

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the servers these tests start: with
// RUNNER_TEST_CHILD set, TestMain runs that child instead of the tests.
const childEnv = "RUNNER_TEST_CHILD"

// firstHitEnv names a file a server child creates when it answers its
// first GET /: the tests' signal that load is flowing.
const firstHitEnv = "RUNNER_TEST_FIRST_HIT"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	// The children this test binary starts are race-built copies of it:
	// without this each one sleeps a second when it exits (the race
	// runtime's atexit_sleep_ms default), and every stop waits for it.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		_ = os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	os.Exit(m.Run())
}

// childArgv is the command line that starts the test binary as child mode.
func childArgv(t *testing.T) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, "-test.run=^$"}
}

func child(mode string) int {
	// Every child dies with the test process too (a watchdog on the parent).
	go func(ppid int) {
		for range time.Tick(200 * time.Millisecond) {
			if os.Getppid() != ppid {
				os.Exit(3)
			}
		}
	}(os.Getppid())
	switch mode {
	case "server":
		return serve(os.Getenv("ADDR"), false)
	case "server-with-stubborn-child":
		// Two grandchildren that ignore SIGTERM: one in the server's
		// process group, one in a group of its own (as prefork children
		// are); only Stop's SIGKILL ends them.
		own := exec.Command(os.Args[0], os.Args[1:]...)
		own.Env = append(os.Environ(), childEnv+"=stubborn")
		own.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		own.Stdout, own.Stderr = os.Stderr, os.Stderr
		if err := own.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), childEnv+"=stubborn")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "grandchildren %d %d\n", own.Process.Pid, cmd.Process.Pid)
		return serve(os.Getenv("ADDR"), false)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Minute)
		return 0
	case "never-healthy":
		fmt.Fprintln(os.Stderr, "starting up")
		fmt.Fprintln(os.Stderr, "fatal: the frobnicator is unplugged")
		return serve(os.Getenv("ADDR"), true)
	case "master":
		return master(os.Getenv("ADDR"), 2)
	case "worker":
		return worker()
	case "exit":
		fmt.Fprintln(os.Stderr, "error: cannot open config file")
		return 7
	}
	fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
	return 2
}

// serve is a minimal server of the contract on addr until SIGTERM.
func serve(addr string, unhealthy bool) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pid := strconv.Itoa(os.Getpid())
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if unhealthy {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/affinity", func(w http.ResponseWriter, r *http.Request) {
		cpus, err := AllowedCPUs()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(FormatCPUList(cpus)))
	})
	var firstHit sync.Once
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if path := os.Getenv(firstHitEnv); path != "" {
			firstHit.Do(func() { _ = os.WriteFile(path, nil, 0o644) })
		}
		w.Header().Set("X-Worker-Id", "0")
		w.Header().Set("X-Worker-Pid", pid)
		_, _ = w.Write([]byte("hello\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() { <-sig; _ = srv.Close() }()
	_ = srv.Serve(ln)
	return 0
}
