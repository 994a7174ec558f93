package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestServeSecondSignalKills: the first SIGINT starts the drain, which here
// waits on a 30s stall within a 60s grace; a second SIGINT ends the process
// at once, by the signal's default action. The serve process is this test
// binary re-executed as clusterbench (envBeMain).
func TestServeSecondSignalKills(t *testing.T) {
	for attempt := 1; attempt <= 3; attempt++ {
		if secondSignalKills(t) {
			return
		}
		t.Logf("attempt %d: the stall request had not reached its handler when the drain began (it was answered with an error, and the drain had nothing to wait for); again", attempt)
	}
	t.Skip("in 3 attempts the stall request never reached its handler before the first SIGINT: nothing to judge")
}

// secondSignalKills runs the test once; it returns false when its
// precondition did not hold: the drain ended at once because the stall
// request, written by the client, had not reached the server's handler.
func secondSignalKills(t *testing.T) bool {
	cmd := exec.Command(os.Args[0], "serve", "--model", "single", "--addr", "127.0.0.1:0", "--faults", "--grace", "60s")
	cmd.Env = append(os.Environ(), envBeMain+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr := &listenWatcher{addrc: make(chan string, 1)}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	waited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(waited) }()
	defer func() {
		_ = cmd.Process.Kill()
		<-waited
	}()
	var addr string
	select {
	case addr = <-stderr.addrc:
	case <-waited:
		t.Fatalf("serve exited (%v) before listening: %s", waitErr, stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve never logged its listening line: %s", stderr)
	}

	// A stall in flight keeps the drain busy. It is in the server's hands
	// once its request is written and a later connection has been answered:
	// the server accepts connections in the order they arrived.
	stallCtx, stopStall := context.WithCancel(context.Background())
	defer stopStall()
	wrote, stalled := make(chan struct{}), make(chan struct{})
	var stallErr error
	go func() {
		defer close(stalled)
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(stallCtx, trace), http.MethodGet, "http://"+addr+"/fault/stall?d=30s", nil)
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		stallErr = err
	}()
	var stallWritten time.Time
	select {
	case <-wrote:
		stallWritten = time.Now()
	case <-stalled:
		t.Fatal("the stall request failed before it was written")
	case <-time.After(30 * time.Second):
		t.Fatal("the stall request was not written within 30s")
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// The drain has begun when the listener is closed: a dial is refused.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("still accepting 30s after the first SIGINT: %s", stderr)
		}
		time.Sleep(5 * time.Millisecond) // polls the listener's state, which has no signal
	}
	select {
	case <-waited:
		<-stalled
		if waitErr == nil && stallErr != nil {
			return false // the stall never reached its handler: not in flight
		}
		t.Fatalf("serve exited (%v) after one SIGINT while a 30s stall was in flight (stall: %v): %s", waitErr, stallErr, stderr)
	default:
	}
	if d := time.Since(stallWritten); d > 20*time.Second {
		// The stall ends 30s after it was written; from then on a drain
		// that ends by itself is what the code should do.
		t.Skipf("the machine took %v to get here: too close to the end of the 30s stall to tell a kill from a finished drain", d.Round(time.Second))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve still draining 20s after a second SIGINT (the stall lasts 30s): %s", stderr)
	}
	var ee *exec.ExitError
	if waitErr == nil {
		// A clean exit: the drain finished by itself, which it may only do
		// if the stall never reached its handler (then its request failed).
		select {
		case <-stalled:
			if stallErr != nil {
				return false
			}
		case <-time.After(10 * time.Second):
		}
		t.Fatalf("serve exited 0 after a second SIGINT while its stall was in flight (stall: %v), want killed by SIGINT", stallErr)
	}
	if !errors.As(waitErr, &ee) {
		t.Fatalf("serve after a second SIGINT: %v, want killed by SIGINT", waitErr)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("serve after a second SIGINT: %v, want killed by SIGINT", waitErr)
	}
	stopStall()
	<-stalled
	return true
}
