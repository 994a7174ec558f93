//go:build linux

package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fast server answers one request, then two pipelined in one write,
// then one whose terminator is split across two writes, on one connection.
func TestFastServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	addr := ln.Addr().String()
	ln.Close() // f holds the socket
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var serveErr error
	wg.Go(func() { serveErr = serveFast(ctx, int(f.Fd())) })
	defer func() {
		cancel()
		wg.Wait()
		if serveErr != nil {
			t.Errorf("serveFast: %v", serveErr)
		}
	}()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	r := bufio.NewReader(c)
	for _, writes := range [][]string{{req}, {req + req}, {req[:len(req)-3], req[len(req)-3:]}} {
		for _, w := range writes {
			if _, err := io.WriteString(c, w); err != nil {
				t.Fatal(err)
			}
		}
		want := strings.Count(strings.Join(writes, ""), "\r\n\r\n")
		got := make([]byte, want*len(fastResponse))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("after %q: %v", writes, err)
		}
		if string(got) != strings.Repeat(fastResponse, want) {
			t.Fatalf("after %q: got %q", writes, got)
		}
	}
}

func TestCountRequests(t *testing.T) {
	state, n := 0, 0
	for _, part := range []string{"GET / HTTP/1.1\r\n\r", "\n", "GET /\r\r\n\r\nx\r\n\r\n\r\n"} {
		n += countRequests(&state, []byte(part))
	}
	if n != 3 || state != 2 {
		t.Errorf("got %d requests, state %d; want 3, 2", n, state)
	}
}

const wrkOutput = `Running 3s test @ http://127.0.0.1:40123/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.48ms  312.45us   9.87ms   91.02%
    Req/Sec    25.83k   612.30    26.71k    70.00%
  Latency Distribution
     50%    2.45ms
     75%    2.56ms
     90%    2.71ms
     99%    3.40ms
  77305 requests in 3.00s, 6.34MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  25768.33
Transfer/sec:      2.11MB
`

func TestParseWrk(t *testing.T) {
	s, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if s.requests != 77305 || s.errors != 7 {
		t.Errorf("requests %d, errors %d; want 77305, 7", s.requests, s.errors)
	}
	if d := s.wall - 3*time.Second; d < -10*time.Millisecond || d > 10*time.Millisecond {
		t.Errorf("wall %s; want about 3s", s.wall)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("no error for output without a request count")
	}
}
