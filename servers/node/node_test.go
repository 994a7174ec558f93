//go:build linux

// Package node_test checks servers/node/cluster.js, the Node.js cluster
// reference: it must pass the server contract (servertest) under both
// scheduling policies, answer /calc exactly as the Go API does, restart a
// crashed worker in the same slot, drain on SIGTERM, and end its workers
// when the primary dies. Every test is skipped, saying so, when `node` is
// not on PATH.
package node_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
	"github.com/clusterbench/clusterbench/servers/servertest"
)

type nodeServer struct {
	cmd  *exec.Cmd
	base string
	out  *lockedBuffer
	done chan struct{} // closed once the primary has been reaped
	err  error         // its exit status, valid after done
}

// lockedBuffer collects the server's output; exec writes it from its own
// goroutine while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the Node.js reference cannot be tested here (install Node.js ≥ 18)")
	}
	return node
}

// start runs cluster.js with env in its own process group and waits for
// /healthz; the server is killed at the end of the test.
func start(t *testing.T, env ...string) *nodeServer {
	t.Helper()
	node := needNode(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &nodeServer{base: "http://" + addr, out: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(node, "cluster.js")
	s.cmd.Env = append(os.Environ(), append([]string{"ADDR=" + addr, "GRACE_MS=2000"}, env...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("node cluster.js exited before it was healthy: %v\n%s", s.err, s.out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node cluster.js not healthy after 30s:\n%s", s.out)
		}
	}
}

// groupAlive lists the live (non-zombie) processes of process group pgid.
func groupAlive(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}

func waitGroupGone(t *testing.T, pgid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(groupAlive(pgid)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of group %d still alive after %s", groupAlive(pgid), pgid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestContract(t *testing.T) {
	t.Parallel() // every test has its own cluster on its own port and process group
	for _, policy := range []string{"rr", "none"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			s := start(t, "WORKERS=2", "NODE_CLUSTER_SCHED_POLICY="+policy)
			servertest.Run(t, s.base, servertest.Options{Workers: 2})
			if !strings.Contains(s.out.String(), "policy "+policy) {
				t.Errorf("the primary did not report policy %s:\n%s", policy, s.out)
			}
		})
	}
}

var variable = regexp.MustCompile(`"(worker|pid|compute_ns)":[0-9]+`)

// TestSameAnswersAsGo compares each response of the Node server with the
// Go API's (servers/app): status, content type and body, byte for byte,
// once the fields that name the worker and the time are masked.
func TestSameAnswersAsGo(t *testing.T) {
	t.Parallel() // every test has its own cluster on its own port and process group
	s := start(t, "WORKERS=1")
	goSrv := httptest.NewServer(app.Handler(app.Config{}))
	defer goSrv.Close()
	paths := []string{
		"/calc/fibonacci?n=0", "/calc/fibonacci?n=1", "/calc/fibonacci?n=27",
		"/calc/factorial?n=0", "/calc/factorial?n=1", "/calc/factorial?n=30", "/calc/factorial?n=20000",
		"/calc/sum?n=0", "/calc/sum?n=1", "/calc/sum?n=134217729", // 2^27+1: the sum passes 2^53
		"/calc/primes?n=0", "/calc/primes?n=2", "/calc/primes?n=3", "/calc/primes?n=100", "/calc/primes?n=10000019",
		"/calc/fibonacci?n=+7", "/calc/fibonacci", "/calc/fibonacci?n=", "/calc/fibonacci?n=abc",
		"/calc/fibonacci?n=41", "/calc/fibonacci?n=-1", "/calc/factorial?n=1e3", "/calc/factorial?n=20001",
		"/calc/sum?n=99999999999999999999", "/calc/sum?n=1000000001", "/calc/primes?n=1&n=2",
		"/calc/primes?n=100000001", "/calc/fibonacci?n=%zz", "/calc/fibonacci?n=%3Cb%3E&x=1",
		"/calc/fibonacci?m=3", "/calc/cube?n=3", "/no/such/route", "/calc/", "/calc/sum/x?n=1",
	}
	for _, p := range paths {
		gs, gct, gb := fetch(t, goSrv.URL+p)
		ns, nct, nb := fetch(t, s.base+p)
		if gs != ns || gct != nct || variable.ReplaceAllString(gb, `"$1":_`) != variable.ReplaceAllString(nb, `"$1":_`) {
			t.Errorf("GET %s:\n  go   %d %s %s\n  node %d %s %s", p, gs, gct, gb, ns, nct, nb)
		}
	}
}

func fetch(t *testing.T, url string) (int, string, string) {
	t.Helper()
	c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestCrashedWorkerRestartsInItsSlot(t *testing.T) {
	t.Parallel() // every test has its own cluster on its own port and process group
	s := start(t, "WORKERS=1", "FAULTS=1")
	before := identity(t, s.base)
	if st, _, body := fetch(t, s.base+"/fault/exit"); st != 200 {
		t.Fatalf("GET /fault/exit = %d %s", st, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// A short timeout per try: a connection the primary handed to the
		// dying worker is lost and would hang until it; the next try goes
		// to the restarted worker.
		if now, ok := tryIdentity(s.base, time.Second); ok && now[1] != before[1] {
			if now[0] != before[0] {
				t.Errorf("restarted worker answers as slot %s, want its old slot %s", now[0], before[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no restarted worker within 30s:\n%s", s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(s.out.String(), "restarting") {
		t.Errorf("the primary did not log the restart:\n%s", s.out)
	}
}

func identity(t *testing.T, base string) [2]string {
	t.Helper()
	id, ok := tryIdentity(base, 5*time.Second)
	if !ok {
		t.Fatalf("GET %s/ failed", base)
	}
	return id
}

func tryIdentity(base string, timeout time.Duration) ([2]string, bool) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := c.Get(base + "/")
	if err != nil {
		return [2]string{}, false
	}
	resp.Body.Close()
	return [2]string{resp.Header.Get("X-Worker-Id"), resp.Header.Get("X-Worker-Pid")}, resp.StatusCode == 200
}

func TestSIGTERMDrainsAndExits(t *testing.T) {
	t.Parallel() // every test has its own cluster on its own port and process group
	s := start(t, "WORKERS=2")
	pgid := s.cmd.Process.Pid
	if n := len(groupAlive(pgid)); n != 3 {
		t.Fatalf("group %d has %d processes, want the primary and 2 workers", pgid, n)
	}
	// As the runner does: SIGTERM to the whole group.
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("primary exit after SIGTERM: %v (want status 0)\n%s", s.err, s.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("primary still running 20s after SIGTERM:\n%s", s.out)
	}
	waitGroupGone(t, pgid, 20*time.Second)
	if strings.Contains(s.out.String(), "restarting") {
		t.Errorf("a worker was restarted during shutdown:\n%s", s.out)
	}
}

func TestWorkersDieWithThePrimary(t *testing.T) {
	t.Parallel() // every test has its own cluster on its own port and process group
	s := start(t, "WORKERS=2")
	pgid := s.cmd.Process.Pid
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
	waitGroupGone(t, pgid, 20*time.Second)
}

// The JSON the Go API writes must decode into the same field set as Node's.
func TestCalcFieldOrder(t *testing.T) {
	t.Parallel() // every test has its own cluster on its own port and process group
	s := start(t, "WORKERS=1")
	_, _, body := fetch(t, s.base+"/calc/fibonacci?n=10")
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil || len(m) != 6 {
		t.Fatalf("body %s: %v, want the 6 fields of app.CalcResult", body, err)
	}
}
