package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// envPlainServer makes the test binary a plain HTTP server without
// /healthz on $ADDR (for health: none).
const envPlainServer = "CLUSTERBENCH_TEST_PLAIN_SERVER"

func init() {
	if os.Getenv(envPlainServer) == "1" {
		ln, err := net.Listen("tcp", os.Getenv("ADDR"))
		if err != nil {
			os.Exit(1)
		}
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			_, _ = io.WriteString(w, "plain\n")
		}))
		os.Exit(0)
	}
}

func mainIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), &out, &errb, args)
	return out.String(), errb.String(), code
}

// TestLoadURL: the one-line load test against a server the test runs:
// tables printed, a run directory that report renders again, the server
// left running, and a POST with a header and a JSON body received intact.
func TestLoadURL(t *testing.T) {
	var posts atomic.Int64
	var bad atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			if string(b) != `{"a":1}` || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Token") != "t 1" || r.URL.RequestURI() != "/items?x=1" {
				bad.Store(fmt.Sprintf("%s %s %q %q %q", r.Method, r.URL.RequestURI(), b, r.Header.Get("Content-Type"), r.Header.Get("X-Token")))
			}
			posts.Add(1)
		}
		w.Header().Set("X-Worker-Id", "7")
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	out := t.TempDir()
	stdout, stderr, code := mainIn(t, "load", srv.URL+"/", "-c", "2", "-d", "300ms", "--warmup", "0", "-o", out)
	if code != ExitOK || !strings.Contains(stdout, "load: throughput and latency") || !strings.Contains(stdout, "requests per worker") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	dirs := runDirs(t, out)
	if len(dirs) != 1 {
		t.Fatalf("run directories %v", dirs)
	}
	if s, _, code := mainIn(t, "report", dirs[0]); code != ExitOK || !strings.Contains(s, "target") {
		t.Errorf("report of the load run: exit %d\n%s", code, s)
	}
	run, err := report.ReadRun(dirs[0])
	if err != nil || run.Servers[0].Target != srv.URL || run.Trials[0].Successes == 0 || run.Trials[0].ServerCPUS != 0 {
		t.Errorf("run %+v, %v: want the target recorded, successes, no server CPU without --pid", run.Servers, err)
	}
	if resp, err := http.Get(srv.URL + "/"); err != nil { // still running
		t.Errorf("the target is gone after the run: %v", err)
	} else {
		resp.Body.Close()
	}

	_, stderr, code = mainIn(t, "load", srv.URL+"/items?x=1", "-m", "POST", "-H", "Content-Type: application/json", "-H", "X-Token: t 1",
		"--body", `{"a":1}`, "-c", "1", "-n", "20", "--warmup", "0", "-o", out, "-q")
	if code != ExitOK || posts.Load() != 20 || bad.Load() != nil {
		t.Errorf("POST: exit %d, %d posts received (want 20), a bad one: %v\n%s", code, posts.Load(), bad.Load(), stderr)
	}
}

// TestLoadStatusAndThresholds: a server answering 404 to every second
// request shows the 404s in the terminal; --fail-on 'errors<1%' exits 1
// after writing the run; a threshold that holds exits 0.
func TestLoadStatusAndThresholds(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	out := t.TempDir()
	stdout, stderr, code := mainIn(t, "load", srv.URL+"/", "-c", "1", "-n", "200", "--warmup", "0", "-o", out, "--fail-on", "errors<1%")
	if code != ExitRegression || !strings.Contains(stdout, "responses other than 2xx") || !strings.Contains(stdout, "404 ×100") ||
		!strings.Contains(stderr, "threshold errors<1% failed") || !strings.Contains(stderr, "measured 50%") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant 1, the 404 count, the failed threshold with its measured value", code, stdout, stderr)
	}
	if len(runDirs(t, out)) != 1 {
		t.Error("the run was not written before the threshold failed it")
	}
	if _, stderr, code := mainIn(t, "load", srv.URL+"/", "-c", "1", "-n", "50", "--warmup", "0", "-o", out, "-q", "--fail-on", "errors<60%", "--fail-on", "p99<10s"); code != ExitOK {
		t.Errorf("thresholds that hold: exit %d\n%s", code, stderr)
	}
}

// TestLoadBadInput: every mistake exits 2 naming it (3 for a target that
// refuses connections), nothing written.
func TestLoadBadInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()
	out := filepath.Join(t.TempDir(), "runs")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"::nope"}, ExitUsage, "not a URL"},
		{[]string{"ftp://127.0.0.1:1/"}, ExitUsage, `scheme "ftp" is not supported (allowed: http, https)`},
		{[]string{"http://127.0.0.1:1/", "-H", "NoColon"}, ExitUsage, `--header "NoColon" is not 'Name: value'`},
		{[]string{"http://127.0.0.1:1/", "--body", "@/no/such/file"}, ExitUsage, "--body @/no/such/file"},
		{[]string{"http://127.0.0.1:1/", "--fail-on", "latency<1s"}, ExitUsage, `unknown metric "latency"`},
		{[]string{"http://127.0.0.1:1/", "-n", "10", "-d", "1s"}, ExitUsage, "--requests and --duration together"},
		{[]string{"http://127.0.0.1:1/", "-m", "FETCH"}, ExitUsage, `--method "FETCH" is not a method`},
		{[]string{"http://127.0.0.1:1/", "-d", "0"}, ExitUsage, "--duration 0s out of range"},
		{[]string{"http://127.0.0.1:1/", "--trials", "0"}, ExitUsage, "--trials 0 out of range"},
		{[]string{"http://127.0.0.1:1/", "-n", "5", "--save-scenario", "x.yaml"}, ExitUsage, "a scenario file has no request count"},
		{[]string{"http://127.0.0.1:1/", "-r", "100", "--shard", "0/2", "--run-id", "x", "--save-scenario", "x.yaml"}, ExitUsage, "--save-scenario with --shard"},
		{[]string{refused, "-d", "200ms", "--warmup", "0"}, ExitMeasurement, "does not accept connections"},
	} {
		_, stderr, code := mainIn(t, append([]string{"load", "-o", out}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("load %v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("bad input or an unreachable target created %s", out)
	}
}

// TestScenarioTargetAndHealthNone: a scenario file measures a target: the
// test runs (and leaves it running), and a command: server without
// /healthz under health: none; --save-scenario writes a file run reads.
func TestScenarioTargetAndHealthNone(t *testing.T) {
	var mu sync.Mutex
	seen := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen++
		mu.Unlock()
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sc := writeScenario(t, dir, "mixed", fmt.Sprintf(`name: mixed
servers:
  - name: mine
    target: %q
  - name: plain
    command: [%q]
    env: {%s: "1"}
    health: none
    ready_timeout: 20s
requests:
  - path: /
load:
  concurrency: [1]
  duration: 200ms
  warmup: 0s
  trials: 1
`, srv.URL, exe, envPlainServer))
	cmd, stdout, stderr := clusterbench(t, dir, "run", sc, "-o", filepath.Join(dir, "runs"))
	if code := exitCodeOf(t, cmd.Run()); code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	mu.Lock()
	got := seen
	mu.Unlock()
	if got == 0 || !strings.Contains(stdout.String(), "plain") {
		t.Errorf("target saw %d requests; output:\n%s", got, stdout)
	}
	if resp, err := http.Get(srv.URL); err != nil {
		t.Errorf("the target is gone: %v", err)
	} else {
		resp.Body.Close()
	}

	saved := filepath.Join(dir, "saved.yaml")
	if _, stderr, code := mainIn(t, "load", srv.URL+"/", "-c", "3", "-d", "200ms", "--warmup", "0", "-o", filepath.Join(dir, "runs"), "-q",
		"--save-scenario", saved, "--fail-on", "p99<10s"); code != ExitOK {
		t.Fatalf("load --save-scenario: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := mainIn(t, "run", saved, "-o", filepath.Join(dir, "runs"), "-q"); code != ExitOK {
		t.Errorf("run of the saved scenario: exit %d\n%s", code, stderr)
	}
	back, err := scenario.LoadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if l := back.Load; back.Servers[0].Target != srv.URL || l.Mode != scenario.Closed || !slices.Equal(l.Levels, []int{3}) ||
		l.Duration != 200*time.Millisecond || l.Warmup != 0 || l.Trials != 1 || len(back.Thresholds) != 1 || back.Requests[0].Path != "/" {
		t.Errorf("the saved scenario reads back as %+v, servers %+v, thresholds %v", l, back.Servers, back.Thresholds)
	}
}

// TestRunFromAnywhere: in a directory outside the repository, a built-in
// scenario runs by name with its results under that directory's
// results/runs/, and a command: whose file is not there says where it
// looked.
func TestRunFromAnywhere(t *testing.T) {
	dir := t.TempDir()
	cmd, stdout, stderr := clusterbench(t, dir, "run", "hello", "--servers", "single", "-c", "1", "-d", "200ms", "--warmup", "0", "--trials", "1", "-q")
	if code := exitCodeOf(t, cmd.Run()); code != ExitOK {
		t.Fatalf("run hello from %s: exit %d\n%s\n%s", dir, code, stdout, stderr)
	}
	if dirs := runDirs(t, filepath.Join(dir, "results", "runs")); len(dirs) != 1 {
		t.Errorf("results/runs under %s holds %v, want one run", dir, dirs)
	}
	cmd, stdout, stderr = clusterbench(t, dir, "run", "node-vs-go", "--servers", "node-rr", "-d", "200ms", "--trials", "1", "-q")
	if code := exitCodeOf(t, cmd.Run()); code != ExitMeasurement || !strings.Contains(stderr.String(), "../servers/node/cluster.js not found (looked for") {
		t.Errorf("run node-vs-go outside the repository: exit %d\n%s\n%s; want 3 and where it looked", code, stdout, stderr)
	}
}

// TestLoadExpectStatus: --expect-status makes the named codes the
// successes: a server answering 404 everywhere passes with 404 expected.
func TestLoadExpectStatus(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	out := t.TempDir()
	if _, stderr, code := mainIn(t, "load", srv.URL+"/", "-c", "1", "-n", "20", "--warmup", "0", "-o", out, "-q", "--expect-status", "404", "--fail-on", "errors<1%"); code != ExitOK {
		t.Errorf("404 expected: exit %d\n%s", code, stderr)
	}
	if _, _, code := mainIn(t, "load", srv.URL+"/", "-c", "1", "-n", "20", "--warmup", "0", "-o", out, "-q", "--fail-on", "errors<1%"); code != ExitRegression {
		t.Errorf("404 not expected: exit %d, want 1", code)
	}
}

// TestLoadInsecure: -k measures an https server whose certificate does
// not verify; without it every request fails.
func TestLoadInsecure(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") }))
	defer srv.Close()
	out := t.TempDir()
	if _, stderr, code := mainIn(t, "load", srv.URL+"/", "-k", "-c", "1", "-n", "10", "--warmup", "0", "-o", out, "-q", "--fail-on", "errors<1%"); code != ExitOK {
		t.Errorf("-k: exit %d\n%s", code, stderr)
	}
	if _, _, code := mainIn(t, "load", srv.URL+"/", "-c", "1", "-n", "3", "--warmup", "0", "-o", out, "-q", "--fail-on", "errors<1%"); code != ExitRegression {
		t.Errorf("without -k: exit %d, want 1 (every request fails verification)", code)
	}
}
