package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServeBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--model", "threads"}, `--model "threads" is not a model (allowed: single, pool, prefork)`},
		{[]string{"--workers", "0"}, "--workers 0 out of range (allowed: 1..1024)"},
		{[]string{"--balance", "fair"}, "allowed: reuseport, shared, roundrobin"},
		{[]string{"--addr", "nocolon"}, `--addr "nocolon" is not HOST:PORT`},
		{[]string{"--burn", "5s"}, "--burn 5s out of range (allowed: 0..1s)"},
		{[]string{"--grace", "-1s"}, "--grace -1s is negative"},
		{[]string{"--queue", "0"}, "--queue 0 out of range"},
		{[]string{"--queue-timeout", "-1s"}, "--queue-timeout -1s is negative"},
		{[]string{"--nope"}, "unknown flag: --nope"},
		{[]string{"stray"}, `unexpected argument "stray"`},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := Main(context.Background(), &bytes.Buffer{}, &stderr, append([]string{"serve"}, tt.args...))
		if code != ExitUsage {
			t.Errorf("serve %v exit = %d, want %d", tt.args, code, ExitUsage)
		}
		if !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("serve %v stderr = %q, want it to contain %q", tt.args, stderr.String(), tt.want)
		}
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, model := range []string{"single", "pool"} {
		var stderr bytes.Buffer
		code := Main(context.Background(), &bytes.Buffer{}, &stderr, []string{"serve", "--model", model, "--addr", ln.Addr().String()})
		if code != ExitUsage || !strings.Contains(stderr.String(), "already in use") {
			t.Errorf("serve --model %s on a bound port: exit %d, stderr %q; want 2 and 'already in use'", model, code, stderr.String())
		}
	}
}

func TestMainUnknownCommand(t *testing.T) {
	var stderr bytes.Buffer
	if code := Main(context.Background(), &bytes.Buffer{}, &stderr, []string{"frobnicate"}); code != ExitUsage {
		t.Errorf("exit = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "allowed: ab, calc, check, compare, k8s, load, merge, report, run, serve") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// listenWatcher is a stderr that captures everything and reports the
// address of serve's "msg=listening" line: the readiness signal.
type listenWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addrc chan string
}

func (w *listenWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, line := range strings.Split(string(p), "\n") {
		if i := strings.Index(line, " addr="); i >= 0 && strings.Contains(line, "msg=listening") {
			addr, _, _ := strings.Cut(line[i+len(" addr="):], " ")
			select {
			case w.addrc <- addr:
			default:
			}
		}
	}
	return len(p), nil
}

func (w *listenWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestServeGOMAXPROCS: --gomaxprocs is in force when the listening line
// reports it, and the test process gets its own value back afterwards.
func TestServeGOMAXPROCS(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	want := before + 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	stderr := &listenWatcher{addrc: make(chan string, 1)}
	go func() {
		done <- Main(ctx, &bytes.Buffer{}, stderr, []string{"serve", "--model", "single", "--addr", "127.0.0.1:0", "--gomaxprocs", strconv.Itoa(want)})
	}()
	select {
	case <-stderr.addrc:
	case code := <-done:
		t.Fatalf("serve exited %d before listening: %s", code, stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("serve never logged its listening line: %s", stderr)
	}
	if got := "gomaxprocs=" + strconv.Itoa(want); !strings.Contains(stderr.String(), got) {
		t.Errorf("listening line does not say %s: %s", got, stderr)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("serve exit after cancel = %d, want 0: %s", code, stderr)
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS after serve = %d, want %d restored", got, before)
	}
}

// TestServeDrainsOnCancel starts each in-process model through the CLI path
// on port 0, waits for its listening line, checks it answers, cancels (as
// SIGTERM would) and expects exit 0 and a free port.
func TestServeDrainsOnCancel(t *testing.T) {
	for _, model := range []string{"single", "pool"} {
		t.Run(model, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			stderr := &listenWatcher{addrc: make(chan string, 1)}
			go func() {
				done <- Main(ctx, &bytes.Buffer{}, stderr, []string{"serve", "--model", model, "--addr", "127.0.0.1:0", "--workers", "2"})
			}()
			var addr string
			select {
			case addr = <-stderr.addrc:
			case code := <-done:
				t.Fatalf("serve exited %d before listening: %s", code, stderr)
			case <-time.After(10 * time.Second):
				t.Fatalf("serve never logged its listening line: %s", stderr)
			}
			client := &http.Client{Timeout: 5 * time.Second}
			resp, err := client.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET / = %d", resp.StatusCode)
			}
			cancel()
			if code := <-done; code != ExitOK {
				t.Fatalf("serve exit after cancel = %d, want 0: %s", code, stderr)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("port %s still bound after serve returned: %v", addr, err)
			}
			ln.Close()
		})
	}
}
