//go:build unix

package spawn

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the children these tests start: with
// childEnv set, TestMain runs that child instead of the tests.
const childEnv = "SPAWN_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	// Children are copies of this binary: a race-built one would sleep a
	// second at exit (the race runtime's atexit_sleep_ms default).
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		_ = os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	os.Exit(m.Run())
}

// childSpec is a Spec that starts this test binary in child mode.
func childSpec(t *testing.T, mode string) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Argv: []string{exe, "-test.run=^$"}, Env: append(os.Environ(), childEnv+"="+mode)}
}

// child runs one child mode; its result is the exit status.
func child(mode string) int {
	switch mode {
	case "sleeper": // ends on SIGTERM (the default action)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "stubborn": // only SIGKILL ends it
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "echo": // echoes stdin's lines until EOF
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println(sc.Text())
		}
	case "parent": // starts two sleepers, one through Start, one plainly; prints their pids
		exe := os.Args[0]
		env := append(os.Environ(), childEnv+"=sleeper")
		c, err := Start(context.Background(), Spec{Argv: []string{exe, "-test.run=^$"}, Env: env})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		plain := exec.Command(exe, "-test.run=^$")
		plain.Env = env
		if err := plain.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(c.Pid(), plain.Process.Pid)
		time.Sleep(time.Hour)
	default:
		fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
		return 2
	}
	return 0
}

// startReady starts mode with its stdout on a pipe and waits for its first
// line ("ready", or what the mode prints first), which it returns.
func startReady(t *testing.T, spec Spec) (*Child, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	spec.Stdout = w
	c, err := Start(context.Background(), spec)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Kill(); _ = c.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("first line of the child: %v", err)
	}
	return c, strings.TrimSpace(line)
}

// signalOf is the signal that ended c, or 0 when it exited.
func signalOf(t *testing.T, c *Child) syscall.Signal {
	t.Helper()
	ws, ok := c.State().Sys().(syscall.WaitStatus)
	if !ok {
		t.Fatalf("state %v: no wait status", c.State())
	}
	if !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

func TestStopKillsAChildThatIgnoresSIGTERM(t *testing.T) {
	c, _ := startReady(t, childSpec(t, "stubborn"))
	if err := c.Stop(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !c.Exited() {
		t.Fatal("Stop returned before the child was reaped")
	}
	if sig := signalOf(t, c); sig != syscall.SIGKILL {
		t.Errorf("child ended by %v (state %v), want SIGKILL after the grace", sig, c.State())
	}
	if groupAlive(c.Pid()) {
		t.Errorf("group %d still has a process after Stop", c.Pid())
	}
}

func TestStopTermsAChildThatDrains(t *testing.T) {
	c, _ := startReady(t, childSpec(t, "sleeper"))
	// A grace far longer than the child needs: SIGTERM must suffice.
	if err := c.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	if sig := signalOf(t, c); sig != syscall.SIGTERM {
		t.Errorf("child ended by %v (state %v), want SIGTERM within the grace", sig, c.State())
	}
}

func TestCancelKillsTheGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	spec := childSpec(t, "stubborn")
	spec.Stdout = w
	c, err := Start(ctx, spec)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := c.Wait(); err == nil {
		t.Fatal("Wait = nil after cancellation, want the kill")
	}
	if sig := signalOf(t, c); sig != syscall.SIGKILL {
		t.Errorf("child ended by %v, want SIGKILL", sig)
	}
}

func TestEmptyCommand(t *testing.T) {
	if _, err := Start(context.Background(), Spec{}); err == nil || !strings.Contains(err.Error(), "empty command") {
		t.Errorf("Start(no argv) = %v, want an empty command error", err)
	}
}
