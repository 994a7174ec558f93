// Package spawn starts the child processes of clusterbench, the servers'
// (prefork children, calc workers) and the harness's (servers under test,
// wrk, node), so that none outlives the process that started it, and stops
// them: SIGTERM to the child's process group, a grace period, then SIGKILL,
// and the child reaped.
//
// What each system provides:
//
//   - Linux: a child leads a process group of its own (Setpgid: a terminal's
//     Ctrl-C reaches only this process, which then stops its children in
//     order) and gets SIGKILL when this process dies, even by SIGKILL
//     (Pdeathsig). Pdeathsig fires when the OS thread that forked the child
//     exits, not the process (golang/go#27505), so Start forks from a
//     goroutine locked to its thread for the child's whole life; the thread
//     ends with that goroutine once the child has been reaped. That thread
//     also carries the CPU affinity of Spec.CPUs, which the child inherits
//     from its first instruction.
//   - Other Unix systems: a process group of its own, no Pdeathsig: a child
//     outlives this process if that is killed (SIGKILL, a second Ctrl-C);
//     Stop and the cancellation of Start's context still end the whole
//     group. CPU pinning is not available.
//   - Windows: no process groups in the Unix sense, no SIGTERM, no
//     Pdeathsig: Stop and cancellation kill the child itself, at once.
//
// Concurrency: the methods of a Child may be called from any goroutine.
// Every child is reaped by a goroutine of this package, which ends when the
// child has been reaped; Wait and Done tell when that is.
package spawn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reapTimeout bounds each wait that follows a SIGKILL: for the processes
// to vanish, and for the child to be reaped.
const reapTimeout = 5 * time.Second

// Spec is how to start one child. The zero value of every field but Argv
// is a documented default.
type Spec struct {
	Argv []string // argv[0] is the program (looked up in PATH when it has no slash)
	// Env is the child's whole environment; nil = this process's.
	Env []string
	Dir string // working directory; "" = this process's
	// Stdin, Stdout and Stderr are as exec.Cmd's: nil = the null device.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ExtraFiles are inherited as descriptors 3, 4, … (exec.Cmd.ExtraFiles).
	ExtraFiles []*os.File
	// CPUs, when not nil, confines the child to these CPUs from its first
	// instruction (Linux only; elsewhere Start fails, see
	// PinningUnavailable). Its own children inherit the mask.
	CPUs []int
	// SameGroup keeps the child in this process's process group (a
	// terminal's Ctrl-C reaches it too); then Stop and cancellation signal
	// the child alone. Default: a process group of its own.
	SameGroup bool
	// WaitDelay bounds how long Wait waits, once the child has exited (or
	// was killed on cancellation), for its output pipes to close: a
	// grandchild that holds them cannot block Wait (exec.Cmd.WaitDelay).
	// 0 = no bound.
	WaitDelay time.Duration
}

// Child is a running (or exited) child process.
type Child struct {
	cmd      *exec.Cmd
	pid      int
	ownGroup bool
	done     chan struct{} // closed once the child has been reaped
	err      error         // cmd.Wait's error, valid once done is closed
}

// Start starts spec and returns once the child runs. When ctx is done
// before the child exits, SIGKILL goes to the child's process group (the
// child alone with SameGroup, or on Windows). The error of a failed start
// is exec's, which names the program, or one about CPU pinning.
func Start(ctx context.Context, spec Spec) (*Child, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("spawn: empty command (allowed: argv[0] is the program)")
	}
	cmd := exec.CommandContext(ctx, spec.Argv[0], spec.Argv[1:]...)
	cmd.Env, cmd.Dir = spec.Env, spec.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	cmd.ExtraFiles = spec.ExtraFiles
	cmd.WaitDelay = spec.WaitDelay
	cmd.SysProcAttr = sysProcAttr(!spec.SameGroup)
	c := &Child{cmd: cmd, ownGroup: !spec.SameGroup, done: make(chan struct{})}
	cmd.Cancel = func() error { return c.SignalGroup(syscall.SIGKILL) }
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread must outlive the child (Pdeathsig,
		// CPU affinity), and it is discarded when this goroutine ends,
		// after the child has been reaped.
		runtime.LockOSThread()
		if spec.CPUs != nil {
			if err := pinThread(spec.CPUs); err != nil {
				started <- fmt.Errorf("pin the child to CPUs %v: %w", spec.CPUs, err)
				return
			}
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.pid = cmd.Process.Pid
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

// Run starts spec, waits for the child to exit and returns its state (nil
// when it did not start) and Wait's error.
func Run(ctx context.Context, spec Spec) (*os.ProcessState, error) {
	c, err := Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	err = c.Wait()
	return c.State(), err
}

// Pid is the child's process ID, and the ID of its process group unless
// the child was started with SameGroup.
func (c *Child) Pid() int { return c.pid }

// Done is closed once the child has been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Exited reports whether the child has been reaped.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Wait waits until the child has been reaped and returns what exec.Cmd's
// Wait returned: nil for exit status 0, an *exec.ExitError otherwise.
func (c *Child) Wait() error {
	<-c.done
	return c.err
}

// Err is Wait's error, once Done is closed; nil before.
func (c *Child) Err() error {
	if !c.Exited() {
		return nil
	}
	return c.err
}

// State is the child's exit state (rusage included) once Done is closed;
// nil before.
func (c *Child) State() *os.ProcessState {
	if !c.Exited() {
		return nil
	}
	return c.cmd.ProcessState
}

// Signal sends sig to the child alone.
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// Kill sends SIGKILL to the child alone.
func (c *Child) Kill() error { return c.cmd.Process.Kill() }

// SignalGroup sends sig to the child's process group: the child alone when
// it was started with SameGroup. On Windows the child is killed, whatever
// sig: Windows delivers no SIGTERM, so a child is not drained but
// terminated.
func (c *Child) SignalGroup(sig syscall.Signal) error {
	if !c.ownGroup {
		return c.cmd.Process.Signal(sig)
	}
	return signalGroup(c.cmd.Process, sig)
}

// Stop ends the child and its process group: SIGTERM to the group (the
// child drains and stops its own children), up to grace for the child to
// be reaped and the group to empty, then SIGKILL to the group and up to 5s
// more. It returns an error when the child was not reaped or its group
// still has a process afterwards. A process of the group that exited but
// was not reaped (a zombie whose new parent does not reap) counts as
// alive: a caller that can tell zombies apart (from Linux's /proc) uses
// StopWith. Without process groups (Windows) the child is killed at once
// and only the child is waited for.
func (c *Child) Stop(grace time.Duration) error { return c.StopWith(grace, nil) }

// StopWith is Stop where live, when not nil, lists the processes that must
// be gone, instead of Stop's own look at the child's group: it returns the
// pids still alive among the child's group and any descendant that left
// it, and is called repeatedly. Those still alive after the grace get
// SIGKILL one by one, after the group's SIGKILL, and the error names those
// alive at the end.
func (c *Child) StopWith(grace time.Duration, live func() []int) error {
	gone := func() bool {
		if !c.Exited() {
			return false
		}
		if live != nil {
			return len(live()) == 0
		}
		return !c.groupAlive()
	}
	_ = c.SignalGroup(syscall.SIGTERM)
	if !c.waitFor(gone, grace) {
		_ = c.SignalGroup(syscall.SIGKILL)
		if live != nil {
			for _, pid := range live() {
				_ = killPid(pid)
			}
		}
		c.waitFor(gone, reapTimeout)
	}
	select {
	case <-c.done:
	case <-time.After(reapTimeout):
		return fmt.Errorf("process %d was not reaped %s after SIGKILL", c.pid, reapTimeout)
	}
	if live != nil {
		if left := live(); len(left) > 0 {
			pids := make([]string, len(left))
			for i, p := range left {
				pids[i] = strconv.Itoa(p)
			}
			return fmt.Errorf("processes %s still alive after SIGKILL", strings.Join(pids, ", "))
		}
	} else if c.groupAlive() {
		return fmt.Errorf("processes of group %d still alive after SIGKILL", c.pid)
	}
	return nil
}

// groupAlive reports whether the child's own process group still has a
// process; false when it has none of its own.
func (c *Child) groupAlive() bool { return c.ownGroup && groupAlive(c.pid) }

// waitFor polls cond, and wakes when the child is reaped, until cond holds
// or d passes; it reports whether cond held.
func (c *Child) waitFor(cond func() bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	tick := 5 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		var reaped <-chan struct{} // once the child is reaped, only the tick wakes
		if !c.Exited() {
			reaped = c.done
		}
		t := time.NewTimer(tick)
		select {
		case <-reaped:
		case <-t.C:
		}
		t.Stop()
		tick = min(tick*2, 100*time.Millisecond)
	}
}
