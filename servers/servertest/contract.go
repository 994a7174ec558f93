// Package servertest is the server contract of DESIGN.md as a reusable test
// suite: one set of checks that every model (single, pool, prefork in each
// balance mode, the Node.js reference) must pass against a live base URL.
//
// Run calls t.Run for each check; it is safe to call from parallel tests
// that each own their server. Drain checks the drain under load against a
// model it starts itself. Load is a load on raw connections (keep-alive, or
// one per request) that never retries, for tests that count failed requests
// (a restart, a drain): net/http's Transport would hide a failure on a
// reused connection by sending the request again.
package servertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/servers/workload"
)

// Options tunes what Run expects of a server.
type Options struct {
	// Workers is the number of distinct worker IDs the server may report;
	// IDs must lie in [0, Workers). Zero means do not check the range.
	Workers int
}

// client is the HTTP client the checks and Get use: bounded, no proxy. It
// is shared so that tests reuse connections; it is never modified.
var client = &http.Client{
	Timeout:   20 * time.Second,
	Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
}

// Start serves on a fresh 127.0.0.1:0 listener with serve, which must
// return when its ctx is done, and returns the base URL (http://host:port).
// The test's cleanup cancels ctx and fails the test unless serve then
// returns nil (a clean drain) within a minute.
func Start(t *testing.T, serve func(ctx context.Context, ln net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after cancel = %v, want nil (a clean drain)", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("serve did not return within a minute of its context's end")
		}
	})
	return "http://" + ln.Addr().String()
}

// Get fetches base+path and returns the response with its body read.
func Get(t testing.TB, base, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return resp, body
}

// CalcAnswer is the JSON body of a successful /calc response.
type CalcAnswer struct {
	Kind      string `json:"kind"`
	N         int64  `json:"n"`
	Result    string `json:"result"`
	Worker    int    `json:"worker"`
	Pid       int    `json:"pid"`
	ComputeNs int64  `json:"compute_ns"`
}

// ErrorAnswer is the JSON body of a 4xx/5xx response.
type ErrorAnswer struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// Run checks the whole contract against the server at base (http://host:port).
func Run(t *testing.T, base string, opt Options) {
	t.Run("hello", func(t *testing.T) { checkHello(t, base, opt) })
	t.Run("healthz", func(t *testing.T) {
		resp, _ := Get(t, base, "/healthz")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz = %d, want 200", resp.StatusCode)
		}
	})
	t.Run("calc", func(t *testing.T) { checkCalc(t, base, opt) })
	t.Run("errors", func(t *testing.T) { checkErrors(t, base) })
}

func checkIdentity(t *testing.T, resp *http.Response, opt Options) (id, pid int) {
	t.Helper()
	id, err := strconv.Atoi(resp.Header.Get("X-Worker-Id"))
	if err != nil || id < 0 || (opt.Workers > 0 && id >= opt.Workers) {
		t.Fatalf("X-Worker-Id = %q, want an integer in [0, %d)", resp.Header.Get("X-Worker-Id"), opt.Workers)
	}
	pid, err = strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
	if err != nil || pid <= 0 {
		t.Fatalf("X-Worker-Pid = %q, want a positive integer", resp.Header.Get("X-Worker-Pid"))
	}
	return id, pid
}

func checkHello(t *testing.T, base string, opt Options) {
	resp, body := Get(t, base, "/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", resp.StatusCode)
	}
	id, pid := checkIdentity(t, resp, opt)
	want := fmt.Sprintf("worker %d", id)
	if !strings.Contains(string(body), want) || !strings.Contains(string(body), strconv.Itoa(pid)) {
		t.Errorf("GET / body = %q, want it to name %q and pid %d", body, want, pid)
	}
}

func checkCalc(t *testing.T, base string, opt Options) {
	cases := []struct {
		kind string
		n    int64
		want string
	}{
		{"fibonacci", 20, "6765"},
		{"factorial", 25, "15511210043330985984000000"},
		{"sum", 150_000_000, "11250000075000000"}, // > 2^53: must be exact
		{"primes", 1_000_000, "78498"},
		{"fibonacci", 0, "0"},
		{"factorial", 0, "1"},
	}
	for _, c := range cases {
		path := fmt.Sprintf("/calc/%s?n=%d", c.kind, c.n)
		resp, body := Get(t, base, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d %s, want 200", path, resp.StatusCode, body)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s Content-Type = %q, want application/json", path, ct)
		}
		id, pid := checkIdentity(t, resp, opt)
		var a CalcAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("GET %s: body %q is not the calc JSON: %v", path, body, err)
			continue
		}
		if a.Kind != c.kind || a.N != c.n || a.Result != c.want {
			t.Errorf("GET %s = {kind %q n %d result %q}, want {%q %d %q}", path, a.Kind, a.N, a.Result, c.kind, c.n, c.want)
		}
		if a.Worker != id || a.Pid != pid {
			t.Errorf("GET %s body names worker %d pid %d, headers say %d/%d", path, a.Worker, a.Pid, id, pid)
		}
		if a.ComputeNs < 0 {
			t.Errorf("GET %s compute_ns = %d, want ≥ 0", path, a.ComputeNs)
		}
	}
}

func checkErrors(t *testing.T, base string) {
	cases := []struct {
		path   string
		status int
		says   string // a fragment the error must contain
	}{
		{"/calc/fibonacci", 400, "0..40"},
		{"/calc/fibonacci?n=", 400, "0..40"},
		{"/calc/fibonacci?n=abc", 400, "0..40"},
		{"/calc/fibonacci?n=41", 400, "0..40"},
		{"/calc/fibonacci?n=-1", 400, "0..40"},
		{"/calc/factorial?n=1e3", 400, fmt.Sprintf("0..%d", workload.MaxFactorial)},
		{"/calc/sum?n=99999999999999999999", 400, fmt.Sprintf("0..%d", workload.MaxSum)},
		{"/calc/primes?n=1&n=2", 400, fmt.Sprintf("0..%d", workload.MaxPrimes)},
		{"/calc/cube?n=3", 404, "allowed: factorial, sum, primes, fibonacci"},
		{"/no/such/route", 404, "no route"},
	}
	for _, c := range cases {
		resp, body := Get(t, base, c.path)
		if resp.StatusCode != c.status {
			t.Errorf("GET %s = %d, want %d (body %s)", c.path, resp.StatusCode, c.status, body)
			continue
		}
		var e ErrorAnswer
		if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
			t.Errorf("GET %s: body %q is not a JSON error: %v", c.path, body, err)
			continue
		}
		if !strings.Contains(e.Error, c.says) {
			t.Errorf("GET %s error %q does not say %q", c.path, e.Error, c.says)
		}
	}
}
