package runner

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/clusterbench/clusterbench/servers/spawn"
)

// Defaults of the server lifecycle.
const (
	DefaultStartTimeout = 20 * time.Second // until /healthz answers 200
	DefaultStopGrace    = 5 * time.Second  // SIGTERM to SIGKILL
	stderrTail          = 4 << 10          // bytes of the server's output kept for errors
)

// ProcSpec is how to start one server process.
type ProcSpec struct {
	Name string
	Argv []string // argv[0] is the program
	Env  []string // added to this process's environment
	Dir  string   // working directory; "" = this process's
	Addr string   // 127.0.0.1:PORT it will listen on
	CPUs []int    // where it runs (inherited by its children); nil = anywhere
}

// Proc is a running server, started by servers/spawn: the leader of its
// own process group (Windows has none), killed with SIGKILL if this
// process dies (on Linux only: Pdeathsig, set from an OS thread that stays
// locked for the child's whole life).
type Proc struct {
	spec  ProcSpec
	child *spawn.Child
	out   *tailBuffer
}

// StartProc starts spec and returns once the process runs (not yet ready).
// The server inherits spec.CPUs from its first instruction.
func StartProc(spec ProcSpec) (*Proc, error) {
	p := &Proc{spec: spec, out: &tailBuffer{max: stderrTail}}
	child, err := spawn.Start(context.Background(), spawn.Spec{
		Argv:   spec.Argv,
		Env:    append(os.Environ(), spec.Env...),
		Dir:    spec.Dir,
		Stdout: p.out, Stderr: p.out,
		CPUs:      spec.CPUs,
		WaitDelay: 2 * time.Second, // a grandchild holding the pipe cannot block Wait
	})
	if err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", spec.Name, strings.Join(spec.Argv, " "), err)
	}
	p.child = child
	return p, nil
}

// Pid is the process (and process group) ID of the server's leader.
func (p *Proc) Pid() int { return p.child.Pid() }

// Output returns the last few KiB of the server's stdout and stderr.
func (p *Proc) Output() string { return p.out.String() }

// Exited reports whether the leader has exited.
func (p *Proc) Exited() bool { return p.child.Exited() }

// Stop ends the server: SIGTERM to its process group (the server drains
// and stops its own children), up to grace for every process of its tree
// to exit, then SIGKILL to the group (spawn.Child.Stop). On Linux it also
// follows, from /proc, the descendants that left the group (prefork
// children lead groups of their own) and SIGKILLs those left after the
// grace; elsewhere only the group is seen. It returns an error naming what
// is still alive afterwards.
func (p *Proc) Stop(grace time.Duration) error {
	if err := p.child.StopWith(grace, survivors(p.Pid())); err != nil {
		return fmt.Errorf("server %s: %w", p.spec.Name, err)
	}
	return nil
}

// WaitReady polls http://ADDR/healthz until it answers 200, the process
// exits, ctx ends or timeout passes; the error then carries the tail of
// the server's output.
func (p *Proc) WaitReady(ctx context.Context, timeout time.Duration) error {
	return p.WaitHealthy(ctx, timeout, "/healthz")
}

// WaitHealthy is WaitReady with another health path; HealthNone
// (scenario.HealthNone, "none") waits only until the port accepts a TCP
// connection.
func (p *Proc) WaitHealthy(ctx context.Context, timeout time.Duration, health string) error {
	client := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	defer client.CloseIdleConnections()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	url := "http://" + p.spec.Addr + health
	probe := func() error {
		if health == "none" {
			c, err := net.DialTimeout("tcp", p.spec.Addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", health, resp.Status)
		}
		return nil
	}
	if health == "none" {
		url = "tcp " + p.spec.Addr
	}
	backoff := 10 * time.Millisecond
	var last error
	for {
		err := probe()
		if err == nil {
			return nil
		}
		last = err
		poll := time.NewTimer(backoff)
		select {
		case <-p.child.Done():
			poll.Stop()
			return fmt.Errorf("server %s exited before it was ready (%v)%s", p.spec.Name, p.child.Err(), p.outputNote())
		case <-ctx.Done():
			poll.Stop()
			return ctx.Err()
		case <-deadline.C:
			poll.Stop()
			return fmt.Errorf("server %s not healthy after %s on %s (last: %v)%s", p.spec.Name, timeout, url, last, p.outputNote())
		case <-poll.C:
		}
		backoff = min(backoff*2, 200*time.Millisecond)
	}
}

func (p *Proc) outputNote() string {
	out := strings.TrimSpace(p.Output())
	if out == "" {
		return "; it printed nothing"
	}
	return "; its output ends with:\n" + indent(out)
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
