package load

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// BenchmarkRequestPath is the lean engine's work per request without the
// network: prepare the request, parse a typical response from the read
// buffer, record it (latency histogram, status code, worker tallies).
// It must report 0 allocs/op.
func BenchmarkRequestPath(b *testing.B) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Worker-Id: 1\r\nX-Worker-Pid: 4242\r\n" +
		"Date: Mon, 30 Nov 2026 16:00:00 GMT\r\nContent-Length: 22\r\n\r\nhello from worker 1\r\n\n")
	_, targets, err := buildRequests([]Target{{URL: "http://127.0.0.1:3000/", Weight: 1}}, true)
	if err != nil {
		b.Fatal(err)
	}
	t := &leanTrial{targets: targets, sched: []int{0}, began: time.Now()}
	acc := metrics.New()
	c := &conn{}
	c.reconnect()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := time.Duration(i) * time.Microsecond
		c.begin(t, now, now)
		c.w += copy(c.buf[c.w:], resp)
		done, f := c.parse()
		if !done || f != "" {
			b.Fatalf("done %v, failure %q", done, f)
		}
		c.record(t, acc, now+100*time.Microsecond, "")
		c.r, c.w = 0, 0
	}
}

// BenchmarkClosedLoop runs the lean engine (event loop) against an
// in-process server that answers from a fixed buffer; allocs/op counts
// the whole trial (set-up included) per request, so it reads 0 when the
// hot path does not allocate.
func BenchmarkClosedLoop(b *testing.B) {
	benchClosedLoop(b, true, nil)
}

// BenchmarkClosedLoopLive is BenchmarkClosedLoop with a running count
// (Config.Live) for a progress display: its cost against
// BenchmarkClosedLoop is what counting adds.
func BenchmarkClosedLoopLive(b *testing.B) {
	benchClosedLoop(b, true, &Live{})
}

func benchClosedLoop(b *testing.B, keepAlive bool, live *Live) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := []byte("HTTP/1.1 200 OK\r\nX-Worker-Id: 0\r\nContent-Length: 6\r\n\r\nhello\n")
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					for k := bytes.Count(buf[:n], []byte("\r\n\r\n")); k > 0; k-- {
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
					if !keepAlive {
						return // the client asked Connection: close
					}
				}
			}()
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	out, err := Run(context.Background(), Config{
		Targets: []Target{{URL: "http://" + ln.Addr().String() + "/", Weight: 1}},
		Mode:    Closed, Level: 8, Requests: int64(b.N), Duration: time.Hour, KeepAlive: keepAlive, Live: live,
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if out.Acc.Successes() != int64(b.N) {
		b.Fatalf("successes %d of %d", out.Acc.Successes(), b.N)
	}
	b.ReportMetric(out.ClientCPU.Seconds()*1e6/float64(b.N), "process-cpu-µs/op")
}

// BenchmarkClosedLoopNoKeepAlive is BenchmarkClosedLoop with a new
// connection per request. The event loop reuses its closed connections and
// their read buffers; the allocations it reports are the in-process test
// server's (an accepted net.Conn, a goroutine and a read buffer per
// connection), which this benchmark cannot separate from the client's.
func BenchmarkClosedLoopNoKeepAlive(b *testing.B) {
	benchClosedLoop(b, false, nil)
}
