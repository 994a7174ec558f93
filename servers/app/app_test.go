package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/servers/workload"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestFaultRoutesExistOnlyWithFlag(t *testing.T) {
	off := Handler(Config{})
	for _, p := range []string{"/fault/exit", "/fault/stall?d=1ms", "/fault/panic"} {
		if rec := get(t, off, p); rec.Code != http.StatusNotFound {
			t.Errorf("without Faults, GET %s = %d, want 404", p, rec.Code)
		}
	}
	var exited []int
	on := Handler(Config{Faults: true, Exit: func(code int) { exited = append(exited, code) }})
	if rec := get(t, on, "/fault/stall?d=1ms"); rec.Code != http.StatusOK {
		t.Errorf("GET /fault/stall = %d, want 200", rec.Code)
	}
	if rec := get(t, on, "/fault/stall?d=1h"); rec.Code != http.StatusBadRequest {
		t.Errorf("GET /fault/stall?d=1h = %d, want 400", rec.Code)
	}
	if rec := get(t, on, "/fault/panic"); rec.Code != http.StatusInternalServerError {
		t.Errorf("GET /fault/panic = %d, want 500", rec.Code)
	}
	if rec := get(t, on, "/fault/exit"); rec.Code != http.StatusOK || len(exited) != 1 || exited[0] != 1 {
		t.Errorf("GET /fault/exit = %d, exit calls %v; want 200 and one exit(1)", rec.Code, exited)
	}
}

func TestIdentityHeaders(t *testing.T) {
	h := Handler(Config{Exec: Inline{ID: 7}, Pid: 4242})
	rec := get(t, h, "/")
	if rec.Header().Get(HeaderWorkerID) != "7" || rec.Header().Get(HeaderWorkerPid) != "4242" {
		t.Errorf("headers = %v, want X-Worker-Id 7 and X-Worker-Pid 4242", rec.Header())
	}
	if body := rec.Body.String(); body != "Hello from worker 7 (pid 4242)\n" {
		t.Errorf("body = %q", body)
	}
}

func TestParseCalc(t *testing.T) {
	tests := []struct {
		kind, query string
		wantN       int64
		wantErr     string
	}{
		{"fibonacci", "n=20", 20, ""},
		{"sum", "n=0", 0, ""},
		{"primes", "x=1&n=100000000", 100000000, ""},
		{"fibonacci", "", 0, "missing n"},
		{"fibonacci", "n=", 0, "missing n"},
		{"fibonacci", "n=4.5", 0, "not an integer"},
		{"fibonacci", "n=41", 0, "out of range (allowed: 0..40)"},
		{"factorial", "n=-3", 0, "out of range"},
		{"sum", "n=1&n=2", 0, "given 2 times"},
		{"sum", "n=%zz", 0, "malformed query"},
		{"cube", "n=1", 0, "unknown calculation"},
	}
	for _, tt := range tests {
		_, n, err := ParseCalc(tt.kind, tt.query)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseCalc(%q, %q) = %v", tt.kind, tt.query, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseCalc(%q, %q) error = %v, want %q", tt.kind, tt.query, err, tt.wantErr)
		case tt.wantErr == "" && n != tt.wantN:
			t.Errorf("ParseCalc(%q, %q) n = %d, want %d", tt.kind, tt.query, n, tt.wantN)
		}
	}
}

// FuzzParseCalc: any path kind and query either parses to an in-bounds n or
// fails with an error that states the allowed values; it never panics.
func FuzzParseCalc(f *testing.F) {
	for _, s := range []string{"n=1", "n=", "", "n=-1", "n=99999999999999999999", "n=1&n=2", "%", "n=0x10", "n=+5"} {
		f.Add("fibonacci", s)
		f.Add("sum", s)
	}
	f.Add("nope", "n=1")
	f.Fuzz(func(t *testing.T, kind, query string) {
		k, n, err := ParseCalc(kind, query)
		if err != nil {
			var uk *UnknownKindError
			if !strings.Contains(err.Error(), "allowed") && !strings.Contains(err.Error(), "expected") && !errors.As(err, &uk) {
				t.Fatalf("error %q does not say what is allowed", err)
			}
			return
		}
		if cerr := workload.Check(k, n); cerr != nil {
			t.Fatalf("ParseCalc(%q, %q) accepted n=%d: %v", kind, query, n, cerr)
		}
	})
}

func FuzzParseStall(f *testing.F) {
	for _, s := range []string{"1ms", "", "30s", "31s", "-1s", "1h", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseStall(s)
		if err == nil && (d < 0 || d > MaxStall) {
			t.Fatalf("ParseStall(%q) = %s, outside 0..%s", s, d, MaxStall)
		}
	})
}

// TestPanicNamesWorker: the 500 of a panicking request still says which
// worker panicked, so per-worker error tallies can attribute it.
func TestPanicNamesWorker(t *testing.T) {
	h := Handler(Config{Exec: Inline{ID: 5}, Pid: 77, Faults: true})
	rec := get(t, h, "/fault/panic")
	if rec.Code != http.StatusInternalServerError || rec.Header().Get(HeaderWorkerID) != "5" || rec.Header().Get(HeaderWorkerPid) != "77" {
		t.Errorf("GET /fault/panic = %d with headers %v, want 500 naming worker 5 pid 77", rec.Code, rec.Header())
	}
	// A worker ID beyond the prepared header values still gets its header.
	h = Handler(Config{Exec: Inline{ID: cachedWorkerIDs + 1}, Pid: 77})
	if rec := get(t, h, "/"); rec.Header().Get(HeaderWorkerID) != "1025" {
		t.Errorf("GET / from worker 1025: X-Worker-Id = %q", rec.Header().Get(HeaderWorkerID))
	}
}

// failingListener fails its first Accept, as an exhausted descriptor table
// would if net/http did not retry: Serve must return that error.
type failingListener struct{ net.Listener }

func (l failingListener) Accept() (net.Conn, error) { return nil, errors.New("accept: boom") }

func TestServeReturnsAcceptError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Serve(context.Background(), failingListener{ln}, Handler(Config{}), time.Second)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Serve on a failing listener = %v, want the accept error", err)
	}
}
