//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Usage errors of the prefork model exit 2 before any child starts.
func TestServePreforkUsageErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--balance", "random"}, `--balance "random" is not a balance mode (allowed: reuseport, shared, roundrobin)`},
		{[]string{"--workers", "0"}, "--workers 0 out of range (allowed: 1..1024)"},
		{[]string{"--grace", "-1s"}, "--grace -1s is negative"},
		{[]string{"--addr", busy.Addr().String(), "--balance", "reuseport"}, "address " + busy.Addr().String() + " is already in use"},
		{[]string{"--addr", busy.Addr().String(), "--balance", "shared"}, "is already in use"},
		{[]string{"--addr", busy.Addr().String(), "--balance", "roundrobin"}, "is already in use"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"serve", "--model", "prefork", "--addr", "127.0.0.1:0"}, c.args...)
		code := Main(context.Background(), &stdout, &stderr, args)
		if code != ExitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr.String(), ExitUsage, c.want)
		}
		if strings.Contains(stderr.String(), "child started") {
			t.Errorf("%v: a child was started: %s", c.args, stderr.String())
		}
	}
}

// The real binary: start prefork, reload it with SIGHUP, stop it with
// SIGTERM (exit 0); a busy port exits 2.
func TestServePreforkBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the clusterbench binary and runs its prefork model")
	}
	bin := filepath.Join(t.TempDir(), "clusterbench")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "serve", "--model", "prefork", "--addr", "127.0.0.1:0", "--workers", "2", "--balance", "roundrobin", "--grace", "2s")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	defer func() {
		_ = cmd.Process.Kill()
		for range lines {
		}
	}()
	const timeout = 60 * time.Second
	var log []string
	waitLine := func(what string, re *regexp.Regexp) []string {
		t.Helper()
		deadline := time.After(timeout)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("waiting for %s: stderr ended; log:\n%s", what, strings.Join(log, "\n"))
				}
				log = append(log, l)
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-deadline:
				t.Fatalf("waiting for %s: not logged within %s; log:\n%s", what, timeout, strings.Join(log, "\n"))
			}
		}
	}
	addr := waitLine("the listening line", regexp.MustCompile(`msg=listening .*addr=(\S+)`))[1]

	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}
	for i, want := range []string{"0", "1", "0"} {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if got := resp.Header.Get("X-Worker-Id"); resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("request %d: status %d X-Worker-Id %q, want 200 and %q (round-robin)", i, resp.StatusCode, got, want)
		}
	}

	// A second server on the same port: exit 2, and it starts nothing.
	var busyErr bytes.Buffer
	busy := exec.Command(bin, "serve", "--model", "prefork", "--addr", addr, "--workers", "2", "--balance", "shared")
	busy.Stderr = &busyErr
	if err := busy.Run(); busy.ProcessState.ExitCode() != ExitUsage || !strings.Contains(busyErr.String(), "already in use") {
		t.Errorf("second server on %s: %v, stderr %q; want exit 2 saying the address is in use", addr, err, busyErr.String())
	}

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLine("the reload", regexp.MustCompile(`msg=reloaded`))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLine("the stop", regexp.MustCompile(`msg=stopped`))
	for range lines {
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("prefork master after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(timeout):
		t.Fatal("prefork master did not exit after SIGTERM")
	}
}
