package spawn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestChildDiesWithItsParent SIGKILLs a parent (this test binary
// re-executed) that started a sleeper through Start and another plainly,
// and sees the first killed by SIGKILL (Pdeathsig) while the second lives
// on. This process is made a child subreaper for the test, so that both
// orphans are reparented to it and it can wait for them.
func TestChildDiesWithItsParent(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("this test needs PR_SET_CHILD_SUBREAPER to wait for the orphans: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	parent, line := startReady(t, childSpec(t, "parent"))
	var spawned, plain int
	if _, err := fmt.Sscan(line, &spawned, &plain); err != nil {
		t.Fatalf("parent printed %q, want two pids", line)
	}
	defer func() { // the plain one lives on: end and reap it
		_ = unix.Kill(plain, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(plain, &ws, 0, nil)
	}()
	if err := parent.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()

	reaped := make(chan unix.WaitStatus, 1)
	go func() {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(spawned, &ws, 0, nil); err != nil {
			t.Errorf("wait4(%d): %v", spawned, err)
		}
		reaped <- ws
	}()
	select {
	case ws := <-reaped:
		if !ws.Signaled() || ws.Signal() != unix.SIGKILL {
			t.Errorf("child of the killed parent ended with %v, want SIGKILL (Pdeathsig)", ws)
		}
	case <-time.After(30 * time.Second):
		_ = unix.Kill(spawned, unix.SIGKILL)
		<-reaped
		t.Fatalf("child %d of the killed parent still alive 30s later: no Pdeathsig", spawned)
	}
	// The control: a child started without Start is not killed.
	var ws unix.WaitStatus
	if pid, err := unix.Wait4(plain, &ws, unix.WNOHANG, nil); err != nil || pid != 0 {
		t.Errorf("plain child %d: wait4 = %d, %v (status %v); want it still running", plain, pid, err, ws)
	}
}

// TestChildOutlivesTheCallersThread starts a child from a goroutine locked
// to its thread that then ends, taking the thread with it; were the child
// forked from that thread, its Pdeathsig would kill it.
func TestChildOutlivesTheCallersThread(t *testing.T) {
	spec := childSpec(t, "echo")
	in, toChild, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChild, out, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer toChild.Close()
	defer fromChild.Close()
	spec.Stdin, spec.Stdout = in, out
	var c *Child
	var tid int
	var wg sync.WaitGroup
	wg.Go(func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		tid = unix.Gettid()
		c, err = Start(context.Background(), spec)
	})
	wg.Wait()
	in.Close()
	out.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Kill(); _ = c.Wait() }()
	task := "/proc/self/task/" + strconv.Itoa(tid)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d of the starting goroutine did not exit", tid)
		}
	}
	if _, err := io.WriteString(toChild, "ping\n"); err != nil {
		t.Fatalf("write to the child: %v", err)
	}
	got, err := bufio.NewReader(fromChild).ReadString('\n')
	if err != nil || got != "ping\n" {
		t.Fatalf("child's echo = %q, %v (child %v); want it alive after its starter's thread exited", got, err, c.State())
	}
	toChild.Close()
	if err := c.Wait(); err != nil {
		t.Errorf("child exit: %v", err)
	}
}

// TestChildPinned starts a child on one CPU and reads its affinity.
func TestChildPinned(t *testing.T) {
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	want := -1
	for c := 0; c < len(mine)*64; c++ {
		if mine.IsSet(c) {
			want = c // the last allowed CPU
		}
	}
	if mine.Count() < 2 {
		t.Skipf("pinning shows nothing with %d allowed CPU", mine.Count())
	}
	spec := Spec{Argv: []string{"cat", "/proc/self/status"}, CPUs: []int{want}}
	var b bytes.Buffer
	spec.Stdout = &b
	if _, err := Run(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); !strings.Contains(s, "Cpus_allowed_list:\t"+strconv.Itoa(want)+"\n") {
		t.Errorf("child status says %q, want Cpus_allowed_list %d", s, want)
	}
	var after unix.CPUSet
	if err := unix.SchedGetaffinity(0, &after); err != nil || after != mine {
		t.Errorf("starting a pinned child changed this thread's CPUs: %v", err)
	}
}
