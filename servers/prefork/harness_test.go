//go:build linux

package prefork_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
	"github.com/clusterbench/clusterbench/servers/prefork"
)

// The test binary doubles as the server: with envRole=serve, TestMain runs
// prefork.Serve as `clusterbench serve --model prefork` does (signals, log
// format, exit codes), reading its Config from envConfig. Its children are
// re-executions of the test binary, which inherit both variables and so run
// prefork.Serve as children.
const (
	envRole   = "PREFORK_TEST_ROLE"
	envConfig = "PREFORK_TEST_CONFIG"
	// envCrash makes every child exit with status 3 before it serves: the
	// start-up crash the crash-loop test needs, kept out of the real binary.
	envCrash = "PREFORK_TEST_CRASH"
)

// Timeouts of the tests: generous, because the machine is loaded and the
// binaries carry the race detector; a passing run takes a fraction of them.
const (
	startTimeout = 60 * time.Second
	eventTimeout = 30 * time.Second
)

// serverConfig is the part of prefork.Config a test chooses.
type serverConfig struct {
	Workers int           `json:"workers"`
	Balance string        `json:"balance"`
	Grace   time.Duration `json:"grace"`
	Linger  time.Duration `json:"linger"`
	Faults  bool          `json:"faults"`
	Addr    string        `json:"addr"` // empty: 127.0.0.1:0
}

func TestMain(m *testing.M) {
	if os.Getenv(envRole) == "serve" {
		os.Exit(serveMain())
	}
	os.Exit(m.Run())
}

// serveMain mirrors bench/cmd/clusterbench serve.go for the prefork model.
func serveMain() int {
	if _, child := os.LookupEnv(prefork.EnvSlot); child && os.Getenv(envCrash) != "" {
		fmt.Fprintln(os.Stderr, "test child: crashing at start-up as asked")
		return 3
	}
	var sc serverConfig
	if err := json.Unmarshal([]byte(os.Getenv(envConfig)), &sc); err != nil {
		fmt.Fprintf(os.Stderr, "test server: %s: %v\n", envConfig, err)
		return 2
	}
	if sc.Addr == "" {
		sc.Addr = "127.0.0.1:0"
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	err := prefork.Serve(ctx, prefork.Config{
		Addr: sc.Addr, Workers: sc.Workers, Balance: sc.Balance, Grace: sc.Grace, Linger: sc.Linger,
		App:    app.Config{Faults: sc.Faults},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Reload: hup,
		Args:   []string{},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "test server: %v\n", err)
		var le *prefork.ListenError
		if errors.As(err, &le) {
			return 2
		}
		return 1
	}
	return 0
}

// server is a master process started by a test, with its log.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	log     *logWatch
	addr    string // host:port, once listening
	base    string // http://addr
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// startServer starts a master and, unless crash is set, waits until it logs
// that it listens. Cleanup kills whatever is left: the master and every
// child it logged.
func startServer(t *testing.T, sc serverConfig, crash bool) *server {
	t.Helper()
	s := launch(t, sc, crash)
	if crash {
		return s
	}
	line := s.log.wait(t, startTimeout, "the listening line", func(l logLine) bool { return l["msg"] == "listening" })
	s.addr = line["addr"]
	s.base = "http://" + s.addr
	return s
}

// launch starts a master without waiting for anything.
func launch(t *testing.T, sc serverConfig, crash bool) *server {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(sc)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	// Race-enabled binaries sleep a second at exit by default; the test
	// servers exit a lot.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), envRole+"=serve", envConfig+"="+string(cfg), "GORACE="+gorace)
	if crash {
		cmd.Env = append(cmd.Env, envCrash+"=1")
	}
	cmd.Stderr = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close() // the master and its children hold the write end
	s := &server{t: t, cmd: cmd, log: newLogWatch(r), exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.cleanup)
	return s
}

func (s *server) cleanup() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	exe, _ := os.Executable()
	for _, pid := range s.childPids() {
		// Normally long gone (Pdeathsig); the pid must still run the test
		// binary, so that a reused pid is never hit.
		if link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil && link == exe {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	select {
	case <-s.log.eof:
	case <-time.After(eventTimeout):
		s.t.Errorf("some process still holds the server's stderr %s after the master ended", eventTimeout)
	}
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", strings.Join(s.log.rawLines(), "\n"))
	}
}

// childPids lists the pid of every child the master logged as started.
func (s *server) childPids() []int {
	var pids []int
	for _, l := range s.log.all(isStart) {
		if pid, err := strconv.Atoi(l["pid"]); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isStart(l logLine) bool { return l["msg"] == "child started" || l["msg"] == "child restarted" }

// readyPid waits until the master logs slot's child as ready with a pid not
// in not, and returns that pid.
func (s *server) readyPid(slot int, not ...int) int {
	s.t.Helper()
	l := s.log.wait(s.t, eventTimeout, fmt.Sprintf("a new child ready in slot %d", slot), func(l logLine) bool {
		if l["msg"] != "child ready" || l["slot"] != strconv.Itoa(slot) {
			return false
		}
		for _, p := range not {
			if l["pid"] == strconv.Itoa(p) {
				return false
			}
		}
		return true
	})
	pid, _ := strconv.Atoi(l["pid"])
	return pid
}

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v to master: %v", sig, err)
	}
}

// waitExit waits for the master to exit and returns its exit code.
func (s *server) waitExit(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(timeout):
		s.t.Fatalf("master still running %s later", timeout)
	}
	return s.cmd.ProcessState.ExitCode()
}

// logLine is one slog text line as key → value.
type logLine map[string]string

var logField = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|\S*)`)

// rawKey holds the whole line.
const rawKey = "_raw"

func parseLogLine(s string) logLine {
	l := logLine{rawKey: s}
	for _, m := range logField.FindAllStringSubmatch(s, -1) {
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
		}
		l[m[1]] = v
	}
	return l
}

// logWatch collects the lines a server writes on stderr. eof is closed when
// every process holding the pipe has closed it. Safe for concurrent use.
type logWatch struct {
	mu      sync.Mutex
	raw     []string
	lines   []logLine
	changed chan struct{}
	eof     chan struct{}
}

func newLogWatch(r io.ReadCloser) *logWatch {
	w := &logWatch{changed: make(chan struct{}), eof: make(chan struct{})}
	go func() {
		defer close(w.eof)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			w.mu.Lock()
			w.raw = append(w.raw, sc.Text())
			w.lines = append(w.lines, parseLogLine(sc.Text()))
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *logWatch) all(match func(logLine) bool) []logLine {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []logLine
	for _, l := range w.lines {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

func (w *logWatch) rawLines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.raw...)
}

// wait returns the first line that matches, waiting up to timeout for it.
func (w *logWatch) wait(t *testing.T, timeout time.Duration, what string, match func(logLine) bool) logLine {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		for _, l := range w.lines {
			if match(l) {
				w.mu.Unlock()
				return l
			}
		}
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-w.eof:
			// One last look, then give up: nothing more will come.
			if ls := w.all(match); len(ls) > 0 {
				return ls[0]
			}
			t.Fatalf("waiting for %s: the server's stderr ended first", what)
		case <-deadline.C:
			t.Fatalf("waiting for %s: not logged within %s", what, timeout)
		}
	}
}

// waitUntil polls cond (a check of real state, not a delay) until it holds.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not true within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reply is one answer of get.
type reply struct {
	at   time.Time
	slot int
	pid  int
	err  error
}

func get(client *http.Client, url string) reply {
	resp, err := client.Get(url)
	r := reply{at: time.Now()}
	if err != nil {
		r.err = err
		return r
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	r.at = time.Now()
	switch {
	case err != nil:
		r.err = err
	case resp.StatusCode != http.StatusOK:
		r.err = fmt.Errorf("status %d", resp.StatusCode)
	default:
		r.slot, r.err = strconv.Atoi(resp.Header.Get(app.HeaderWorkerID))
		if r.err == nil {
			r.pid, r.err = strconv.Atoi(resp.Header.Get(app.HeaderWorkerPid))
		}
	}
	return r
}

// processGone reports whether pid has exited (a zombie counts as gone: it
// holds no socket and runs no code).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// portFree reports whether addr can be bound again.
func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}
