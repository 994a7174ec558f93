package load

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawServer is a TCP server on 127.0.0.1:0 that answers every request
// (read up to the end of its header) with respond, which owns the
// connection from then on and returns false to close it.
func rawServer(t *testing.T, respond func(c net.Conn) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					for { // the request header, up to its empty line
						line, err := r.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					select {
					case <-done:
						return
					default:
					}
					if !respond(c) {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String() + "/"
}

func write(s string) func(net.Conn) bool {
	return func(c net.Conn) bool {
		_, err := c.Write([]byte(s))
		return err == nil
	}
}

// engines runs f for the event loop and the goroutine-per-connection
// engine.
func engines(t *testing.T, f func(t *testing.T, cfg Config)) {
	for _, g := range []bool{false, true} {
		name := "epoll"
		if g {
			name = "goroutines"
		}
		t.Run(name, func(t *testing.T) { f(t, Config{Mode: Closed, KeepAlive: true, goroutines: g}) })
	}
}

// TestBadResponses: every way a server can fail a request is counted as
// its own kind, the connection is re-dialled and the run goes on to its
// request count, bounded by the request timeout.
func TestBadResponses(t *testing.T) {
	const n = 3
	for _, c := range []struct {
		name    string
		respond func(net.Conn) bool
		kind    failure
	}{
		{"closes mid-response", func(c net.Conn) bool {
			_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
			return false
		}, failClosedMid},
		{"closes before any byte", func(net.Conn) bool { return false }, failClosedBefore},
		{"resets before any byte", func(c net.Conn) bool {
			_ = c.(*net.TCPConn).SetLinger(0)
			return false
		}, failResetBefore},
		{"malformed status line", write("HTTX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), failStatusLine},
		{"content-length that lies", func(c net.Conn) bool {
			_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
			return true // and nothing more: the client times out
		}, failTimeout},
		{"endless chunked body", func(c net.Conn) bool {
			if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")); err != nil {
				return false
			}
			for { // until the client gives up and closes
				if _, err := c.Write([]byte("400\r\n" + strings.Repeat("x", 1024) + "\r\n")); err != nil {
					return false
				}
			}
		}, failTimeout},
		{"header bigger than the read buffer", write("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 2*ReadBuffer) + "\r\n\r\n"), failLineTooLong},
		{"nothing at all", func(net.Conn) bool { return true }, failTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := rawServer(t, c.respond)
			engines(t, func(t *testing.T, cfg Config) {
				cfg.Targets = []Target{{URL: url, Weight: 1}}
				cfg.Level, cfg.Requests, cfg.Duration, cfg.Timeout = 1, n, time.Minute, 10*time.Second
				if c.kind == failTimeout {
					cfg.Timeout = 100 * time.Millisecond // short: every request waits it out
				}
				out, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				a := out.Acc
				if a.Requests() != n || a.Errors()[string(c.kind)] != n || out.Dials != n {
					t.Errorf("requests %d, dials %d, errors %v: want %d requests each failed with %q on its own connection",
						a.Requests(), out.Dials, a.Errors(), n, c.kind)
				}
			})
		})
	}
}

func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close()
	engines(t, func(t *testing.T, cfg Config) {
		cfg.Targets = []Target{{URL: url, Weight: 1}}
		cfg.Level, cfg.Requests, cfg.Duration = 2, 5, time.Minute
		out, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if a := out.Acc; a.Requests() != 5 || a.Errors()[string(failRefused)] != 5 || a.Successes() != 0 {
			t.Errorf("requests %d, errors %v: want 5, all %q", a.Requests(), a.Errors(), failRefused)
		}
	})
}

// TestNoRetry: a server that drops every second request on a reused
// keep-alive connection without answering (as a reload does) shows each
// drop as a failed request; net/http would retry them silently.
func TestNoRetry(t *testing.T) {
	var mu sync.Mutex
	seen := map[net.Conn]int{}
	url := rawServer(t, func(c net.Conn) bool {
		mu.Lock()
		seen[c]++
		k := seen[c]
		mu.Unlock()
		if k == 2 {
			return false // the second request on a connection: closed unanswered
		}
		_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		return err == nil
	})
	engines(t, func(t *testing.T, cfg Config) {
		cfg.Targets = []Target{{URL: url, Weight: 1}}
		cfg.Level, cfg.Requests, cfg.Duration = 1, 10, time.Minute
		out, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		a := out.Acc
		if a.Requests() != 10 || a.Successes() != 5 || a.Errors()[string(failClosedBefore)] != 5 || out.Dials != 5 {
			t.Errorf("requests %d, successes %d, errors %v, dials %d: want 10, 5, 5 × %q, 5",
				a.Requests(), a.Successes(), a.Errors(), out.Dials, failClosedBefore)
		}
	})
}

// TestRequestBytes: method, headers and body reach the server as given.
func TestRequestBytes(t *testing.T) {
	got := make(chan string, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after the listener is closed (defers run last first)
	defer ln.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		var req []byte
		for !strings.Contains(string(req), "\r\n\r\n{\"a\":1}") {
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			req = append(req, buf[:n]...)
		}
		got <- string(req)
		_, _ = c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	}()
	url := fmt.Sprintf("http://%s/p?q=1", ln.Addr())
	out, err := Run(context.Background(), Config{
		Targets: []Target{{Method: "POST", URL: url, Weight: 1, Header: map[string][]string{"X-Token": {"t1"}, "Content-Type": {"application/json"}}, Body: []byte(`{"a":1}`)}},
		Mode:    Closed, Level: 1, Requests: 1, Duration: time.Minute, KeepAlive: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "POST /p?q=1 HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\nUser-Agent: clusterbench\r\nContent-Type: application/json\r\nX-Token: t1\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
	if r := <-got; r != want {
		t.Errorf("request\n%q\nwant\n%q", r, want)
	}
	if out.Acc.Successes() != 1 {
		t.Errorf("successes %d, want 1", out.Acc.Successes())
	}
}

// TestResponsesFillTheBuffer: responses whose size divides the read
// buffer, many on one connection, so that one ends exactly at the end of
// the buffer (a read into an empty slice once panicked, and would spin).
func TestResponsesFillTheBuffer(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nContent-Length: %02d\r\n\r\n" // 39 bytes written out
	resp := fmt.Sprintf(head, 25) + strings.Repeat("x", 25)
	if len(resp) != 64 || ReadBuffer%len(resp) != 0 {
		t.Fatalf("response of %d bytes: want 64, a divisor of %d", len(resp), ReadBuffer)
	}
	url := rawServer(t, write(resp))
	const n = 3 * ReadBuffer / 64
	engines(t, func(t *testing.T, cfg Config) {
		cfg.Targets = []Target{{URL: url, Weight: 1}}
		cfg.Level, cfg.Requests, cfg.Duration = 1, n, time.Minute
		out, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if a := out.Acc; a.Successes() != n || out.Dials != 1 {
			t.Errorf("successes %d of %d, dials %d, errors %v: want all on one connection", a.Successes(), n, out.Dials, a.Errors())
		}
	})
}

// TestMixedResponses: responses of every size from 1 byte to twice the
// read buffer, by Content-Length and chunked in turn, on keep-alive
// connections: each is read whole and none is mistaken for another.
func TestMixedResponses(t *testing.T) {
	var mu sync.Mutex
	k := 0
	url := rawServer(t, func(c net.Conn) bool {
		mu.Lock()
		k++
		n := (k * 97) % (2 * ReadBuffer)
		chunked := k%2 == 0
		mu.Unlock()
		body := strings.Repeat("b", n)
		var resp string
		if chunked {
			resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Worker-Id: c\r\n\r\n"
			if n > 0 {
				resp += fmt.Sprintf("%x\r\n%s\r\n", n, body)
			}
			resp += "0\r\n\r\n"
		} else {
			resp = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Worker-Id: l\r\n\r\n%s", n, body)
		}
		_, err := c.Write([]byte(resp))
		return err == nil
	})
	const n = 2000
	engines(t, func(t *testing.T, cfg Config) {
		cfg.Targets = []Target{{URL: url, Weight: 1}}
		cfg.Level, cfg.Requests, cfg.Duration = 2, n, time.Minute
		out, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if a := out.Acc; a.Successes() != n || out.Dials != 2 || len(out.Trial("s", 1, 0).Workers) != 2 {
			t.Errorf("successes %d of %d, dials %d, errors %v, workers %+v: want all, on 2 connections, from workers c and l",
				a.Successes(), n, out.Dials, a.Errors(), out.Trial("s", 1, 0).Workers)
		}
	})
}

// TestHTTPS: https runs on the goroutine engine over crypto/tls; a
// certificate that does not verify fails every request as a dial failure
// unless Insecure.
func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker-Id", "1")
		_, _ = w.Write([]byte("tls\n"))
	}))
	defer srv.Close()
	cfg := Config{Targets: []Target{{URL: srv.URL + "/", Weight: 1}}, Mode: Closed, Level: 2, Requests: 20,
		Duration: time.Minute, KeepAlive: true, Insecure: true}
	out, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if out.Acc.Successes() != 20 || out.Dials != 2 {
		t.Errorf("insecure: successes %d, dials %d, errors %v: want 20 on 2 connections", out.Acc.Successes(), out.Dials, out.Acc.Errors())
	}
	cfg.Insecure, cfg.Requests = false, 3
	out, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if out.Acc.Successes() != 0 || out.Acc.Errors()[string(failDial)] != 3 {
		t.Errorf("verified: successes %d, errors %v: want 3 failed dials (the test certificate is not trusted)", out.Acc.Successes(), out.Acc.Errors())
	}
}

// TestDroppedAreNotRequests: in an open loop with a request count
// (Config.Requests), a request dropped for being more than MaxScheduleLag
// late was never sent and does not use up the count, in either engine:
// with one connection, held 1.3 s by its first request, the requests due
// in the first 0.3 s are dropped, and the trial still sends the count.
func TestDroppedAreNotRequests(t *testing.T) {
	var mu sync.Mutex
	seen := map[net.Conn]bool{}
	url := rawServer(t, func(c net.Conn) bool {
		mu.Lock()
		first := !seen[c]
		seen[c] = true
		mu.Unlock()
		if first {
			time.Sleep(MaxScheduleLag + 300*time.Millisecond)
		}
		_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		return err == nil
	})
	engines(t, func(t *testing.T, cfg Config) {
		cfg.Targets = []Target{{URL: url, Weight: 1}}
		cfg.Mode, cfg.Level, cfg.MaxConns, cfg.Requests, cfg.Duration = Open, 100, 1, 150, 20*time.Second
		cfg.Timeout = 5 * time.Second
		out, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		a := out.Acc
		if out.Dropped == 0 || a.Requests() != 150 || a.Successes() != 150 {
			t.Errorf("dropped %d, requests %d, successes %d, errors %v: want some dropped, and 150 requests sent and answered",
				out.Dropped, a.Requests(), a.Successes(), a.Errors())
		}
	})
}
