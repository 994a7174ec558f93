//go:build linux

package prefork_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/servers/app"
)

// checkContract checks the server contract of DESIGN.md against base:
// identity headers naming a live child of the right slot, calculation
// answers, JSON errors. pids maps slot → the pid the master logged for it.
func checkContract(t *testing.T, base string, pids map[int]int) {
	t.Helper()
	client := &http.Client{Timeout: eventTimeout}
	fetch := func(path string, wantStatus int) (*http.Response, []byte) {
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
		if resp.StatusCode != wantStatus {
			t.Fatalf("GET %s: status %d, want %d; body %q", path, resp.StatusCode, wantStatus, body)
		}
		return resp, body
	}
	identity := func(path string, resp *http.Response) (slot, pid int) {
		t.Helper()
		slot, err := strconv.Atoi(resp.Header.Get(app.HeaderWorkerID))
		if err != nil {
			t.Fatalf("GET %s: %s %q is not a slot", path, app.HeaderWorkerID, resp.Header.Get(app.HeaderWorkerID))
		}
		pid, err = strconv.Atoi(resp.Header.Get(app.HeaderWorkerPid))
		if err != nil {
			t.Fatalf("GET %s: %s %q is not a pid", path, app.HeaderWorkerPid, resp.Header.Get(app.HeaderWorkerPid))
		}
		want, ok := pids[slot]
		if !ok || want != pid {
			t.Fatalf("GET %s: answered as slot %d pid %d; the master's children are %v (slot → pid)", path, slot, pid, pids)
		}
		return slot, pid
	}

	resp, body := fetch("/", http.StatusOK)
	slot, pid := identity("/", resp)
	if want := "Hello from worker " + strconv.Itoa(slot); !strings.HasPrefix(string(body), want) {
		t.Errorf("GET /: body %q, want it to start with %q", body, want)
	}
	fetch("/healthz", http.StatusOK)

	for _, c := range []struct{ path, result string }{
		{"/calc/fibonacci?n=20", "6765"},
		{"/calc/factorial?n=25", "15511210043330985984000000"},
		{"/calc/sum?n=100", "5050"},
		{"/calc/primes?n=1000000", "78498"},
	} {
		resp, body := fetch(c.path, http.StatusOK)
		slot, pid = identity(c.path, resp)
		var got app.CalcResult
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("GET %s: body %q is not a calc result: %v", c.path, body, err)
		}
		if got.Result != c.result || got.Worker != slot || got.Pid != pid {
			t.Errorf("GET %s: result %q worker %d pid %d, want %q, %d, %d", c.path, got.Result, got.Worker, got.Pid, c.result, slot, pid)
		}
	}

	for _, c := range []struct {
		path   string
		status int
	}{
		{"/calc/sum?n=-1", http.StatusBadRequest},
		{"/calc/sum", http.StatusBadRequest},
		{"/calc/sum?n=abc", http.StatusBadRequest},
		{"/calc/fibonacci?n=41", http.StatusBadRequest},
		{"/calc/nope?n=1", http.StatusNotFound},
		{"/nope", http.StatusNotFound},
		{"/fault/exit", http.StatusNotFound}, // fault hooks are off
	} {
		resp, body := fetch(c.path, c.status)
		var got struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q, want application/json", c.path, ct)
		}
		if err := json.Unmarshal(body, &got); err != nil || got.Error == "" || got.Status != c.status {
			t.Errorf("GET %s: body %q is not a JSON error with status %d (%v)", c.path, body, c.status, err)
		}
	}
}
