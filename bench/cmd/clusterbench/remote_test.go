package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/clusterbench/clusterbench/bench/scenario"
)

// TestLoadRefusesRemote: a URL whose host is not loopback is a usage
// error (exit 2) at validation, before any connection: 192.0.2.1
// (TEST-NET-1) never answers, so a dial would have ended in exit 3,
// "does not accept connections". Nothing is written.
func TestLoadRefusesRemote(t *testing.T) {
	out := filepath.Join(t.TempDir(), "runs")
	saved := filepath.Join(t.TempDir(), "saved.yaml")
	_, stderr, code := mainIn(t, "load", "http://192.0.2.1:8080/", "-d", "200ms", "--warmup", "0", "-o", out, "--save-scenario", saved)
	want := "target http://192.0.2.1:8080: 192.0.2.1 is not a loopback address (allowed: 127.0.0.0/8, ::1, localhost; pass --allow-remote, or allow_remote: true in the scenario, to load another host) (nothing was measured)"
	if code != ExitUsage || !strings.Contains(stderr, want) {
		t.Errorf("load http://192.0.2.1:8080/: exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, want)
	}
	for _, p := range []string{out, saved} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused target wrote %s", p)
		}
	}
}

// TestRunRefusesRemote: a scenario's target: that is not loopback is
// refused before any server runs, naming the file and the server's line;
// the scenario's allow_remote: or --allow-remote lets it through the check
// (checked directly: no load goes to another host in a test).
func TestRunRefusesRemote(t *testing.T) {
	dir := t.TempDir()
	src := `name: remote
servers:
  - model: single
  - name: far
    target: "http://192.0.2.1:8080"
requests:
  - path: /
load:
  concurrency: [1]
  duration: 200ms
  warmup: 0s
  trials: 1
`
	sc := writeScenario(t, dir, "remote", src)
	out := filepath.Join(dir, "runs")
	_, stderr, code := mainIn(t, "run", sc, "-o", out)
	want := sc + ":4: server far: target http://192.0.2.1:8080: 192.0.2.1 is not a loopback address"
	if code != ExitUsage || !strings.Contains(stderr, want) {
		t.Errorf("run: exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, want)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused target wrote %s (the model server ran)", out)
	}

	ctx := context.Background()
	refused, err := scenario.LoadFile(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTargets(ctx, refused, true); err != nil {
		t.Errorf("--allow-remote: %v", err)
	}
	allowed, err := scenario.Parse("allowed.yaml", []byte(strings.Replace(src, `target: "http://192.0.2.1:8080"`, "target: \"http://192.0.2.1:8080\"\n    allow_remote: true", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTargets(ctx, allowed, false); err != nil {
		t.Errorf("allow_remote: true: %v", err)
	}
	if err := checkTargets(ctx, refused, false); exitCode(err) != ExitUsage {
		t.Errorf("no opt-in: %v (exit %d), want exit %d", err, exitCode(err), ExitUsage)
	}
}

// TestLoadAllowRemote: --allow-remote measures as before (on a loopback
// server) and --save-scenario writes allow_remote: true, which run reads
// back; without the flag the saved file has no allow_remote.
func TestLoadAllowRemote(t *testing.T) {
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	dir := t.TempDir()
	for _, allow := range []bool{true, false} {
		saved := filepath.Join(dir, "saved.yaml")
		args := []string{"load", srv.URL + "/", "-c", "1", "-d", "200ms", "--warmup", "0", "-o", filepath.Join(dir, "runs"), "-q", "--save-scenario", saved}
		if allow {
			args = append(args, "--allow-remote")
		}
		before := seen.Load()
		if _, stderr, code := mainIn(t, args...); code != ExitOK {
			t.Fatalf("load (allow-remote %v): exit %d\n%s", allow, code, stderr)
		}
		if seen.Load() == before {
			t.Errorf("load (allow-remote %v): the server saw no request", allow)
		}
		b, err := os.ReadFile(saved)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), "allow_remote: true"); got != allow {
			t.Errorf("allow-remote %v: saved scenario has allow_remote: true = %v:\n%s", allow, got, b)
		}
		back, err := scenario.LoadFile(saved)
		if err != nil {
			t.Fatal(err)
		}
		if back.Servers[0].AllowRemote != allow {
			t.Errorf("allow-remote %v: the saved scenario reads back with AllowRemote %v", allow, back.Servers[0].AllowRemote)
		}
	}
}
