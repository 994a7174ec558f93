package ab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// SplitCommand splits a command line into words the way a shell would for
// a simple command: blanks separate words, single quotes keep everything
// literally, double quotes keep blanks, a backslash escapes the next
// character. No variables, globs, pipes or redirections: the result is
// executed directly, so the server is a direct child of clusterbench and
// dies with it.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("command ends with a lone backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote in command")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote in command")
			}
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.IndexByte("|&;<>()$`*?", c) >= 0:
			return nil, fmt.Errorf("shell syntax %q in command (allowed: a plain command with arguments; quote the character or wrap the command in a script)", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

// ServerArgv returns the argv to start for addr: {addr}, {host} and
// {port} are replaced in every word; a `clusterbench` command without
// placeholders and without --addr gets `--addr ADDR` appended. Every
// server also gets PORT and ADDR in its environment.
func ServerArgv(argv []string, addr string) []string {
	host, port, _ := net.SplitHostPort(addr)
	out := make([]string, len(argv))
	placeholder := false
	hasAddr := false
	for i, w := range argv {
		r := strings.NewReplacer("{addr}", addr, "{host}", host, "{port}", port).Replace(w)
		placeholder = placeholder || r != w
		hasAddr = hasAddr || w == "--addr" || strings.HasPrefix(w, "--addr=")
		out[i] = r
	}
	if !placeholder && !hasAddr && filepath.Base(argv[0]) == "clusterbench" {
		out = append(out, "--addr", addr)
	}
	return out
}

// freeAddr returns a loopback address with a port free at the time of the
// call (the server binds it right after; a clash fails the start loudly).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// tail keeps the last bytes written to it (a server's stderr, for errors).
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(bytes.ToValidUTF8(t.buf, nil)))
	if s == "" {
		return "(no output)"
	}
	return s
}

// server is one started server process and its process group.
type server struct {
	cmd    *exec.Cmd
	addr   string
	pgid   int
	stderr *tail
	exited chan struct{} // closed when cmd.Wait returned
	err    error         // cmd.Wait's error, valid after exited
}

// startServer starts argv in a new process group with Pdeathsig, so it
// dies with this process. The caller must hold its OS thread locked (the
// death signal follows the thread that forked) and call stop.
func startServer(argv, env []string, cpus []int) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	argv = ServerArgv(argv, addr)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), env...), "PORT="+port, "ADDR="+addr)
	st := &tail{max: 4096}
	cmd.Stdout, cmd.Stderr = st, st
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	// The child inherits the forking thread's CPU mask: set it on this
	// (locked) thread for the fork, then put it back.
	if len(cpus) > 0 {
		var old, set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err == nil {
			for _, c := range cpus {
				set.Set(c)
			}
			if err := unix.SchedSetaffinity(0, &set); err == nil {
				defer unix.SchedSetaffinity(0, &old)
			}
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(argv, " "), err)
	}
	s := &server{cmd: cmd, addr: addr, pgid: cmd.Process.Pid, stderr: st, exited: make(chan struct{})}
	go func() { // reaps the process; owned by s, waited for in stop
		s.err = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// waitReady polls GET /healthz until it answers 200, the process exits,
// the timeout passes or ctx ends.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	url := "http://" + s.addr + "/healthz"
	wait := 5 * time.Millisecond
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited before it was ready (%v): %s", s.err, s.stderr)
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("server not ready on %s within %s: %s", url, timeout, s.stderr)
			}
			return ctx.Err()
		case <-time.After(wait):
			wait = min(wait*2, 100*time.Millisecond)
		}
	}
}

// stop sends SIGTERM to the process group, waits up to grace for the
// leader to exit, then SIGKILLs the group; it returns once the leader is
// reaped and reports any process of the group still alive.
func (s *server) stop(grace time.Duration) error {
	_ = unix.Kill(-s.pgid, unix.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(grace):
	}
	_ = unix.Kill(-s.pgid, unix.SIGKILL) // stragglers of the group, or the leader after the grace
	<-s.exited
	// Children of the group are re-parented and reaped elsewhere; give
	// the kernel a bounded moment to finish them.
	for i := 0; i < 50; i++ {
		procs, err := metrics.GroupProcs(s.pgid)
		if err != nil || len(procs) == 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("processes of server group %d still alive after SIGKILL", s.pgid)
}

// cpu returns the CPU time used so far by every live process of the
// server's group, summed over their threads from /proc/<pid>/task/*/schedstat
// (nanoseconds, unlike the 10 ms ticks of /proc/<pid>/stat). CPU of a
// thread or process that exits between two samples is lost.
func (s *server) cpu() (time.Duration, error) {
	procs, err := metrics.GroupProcs(s.pgid)
	if err != nil {
		return 0, err
	}
	if len(procs) == 0 {
		return 0, fmt.Errorf("server group %d has no live process", s.pgid)
	}
	var sum time.Duration
	for _, p := range procs {
		d, err := procCPU(p.Pid)
		if err != nil {
			continue // exited meanwhile
		}
		sum += d
	}
	return sum, nil
}

// procCPU sums the first field of /proc/<pid>/task/*/schedstat.
func procCPU(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		d, err := ParseSchedstat(b)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// ParseSchedstat reads the run time (first field, nanoseconds) of a
// /proc/.../schedstat line.
func ParseSchedstat(b []byte) (time.Duration, error) {
	f := bytes.Fields(b)
	if len(f) < 1 {
		return 0, errors.New("schedstat: empty")
	}
	ns, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil || ns < 0 {
		return 0, fmt.Errorf("schedstat: bad run time %q", f[0])
	}
	return time.Duration(ns), nil
}
