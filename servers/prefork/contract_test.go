//go:build linux

package prefork_test

import (
	"net/http"
	"testing"

	"github.com/clusterbench/clusterbench/servers/servertest"
)

// checkContract runs the shared contract suite against base, then checks
// what only prefork knows: each answer names a live child and its own slot
// (pids maps slot → the pid the master logged for it), and the fault hooks
// are off without --faults.
func checkContract(t *testing.T, base string, pids map[int]int) {
	t.Helper()
	servertest.Run(t, base, servertest.Options{Workers: len(pids)})
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: eventTimeout}
	for range 2 * len(pids) {
		r := get(client, base+"/")
		if r.err != nil {
			t.Fatalf("GET /: %v", r.err)
		}
		if want, ok := pids[r.slot]; !ok || want != r.pid {
			t.Errorf("GET / answered as slot %d pid %d; the master's children are %v (slot → pid)", r.slot, r.pid, pids)
		}
	}
	if resp, body := servertest.Get(t, base, "/fault/exit"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /fault/exit without faults = %d %s, want 404", resp.StatusCode, body)
	}
}
