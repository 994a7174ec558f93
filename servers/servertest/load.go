package servertest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// LoadOptions configures StartLoad.
type LoadOptions struct {
	Conns int    // keep-alive connections, each with one request in flight at a time
	Path  string // request path; empty means "/"
	// Reconnect opens a fresh connection when the server answered with
	// Connection: close, before the next request is written (this is not
	// a retry: no request is sent twice). Without it, such a connection's
	// loop ends.
	Reconnect bool
	// NoKeepAlive sends each request on a connection of its own, with
	// Connection: close, and reads the answer to the connection's end.
	// Conns is then the number of loops, each with one connection open at
	// a time. A failed request or a refused dial is recorded and the loop
	// goes on with its next request (no request is sent twice).
	NoKeepAlive bool
	// MaxRequests bounds the requests of each loop; zero means no bound:
	// the load runs until Stop.
	MaxRequests int
	// Timeout bounds each request, from its write to the end of its answer;
	// zero means 30s. A request past it counts as failed.
	Timeout time.Duration
}

// Reply is one request of a Load.
type Reply struct {
	At     time.Time // when the answer was read whole, or the request failed
	Status int
	Pid    int   // X-Worker-Pid of the answer
	Close  bool  // the answer carried Connection: close
	Err    error // the request was written (or was being written) and no whole answer came back
}

// LoadResult is what a Load saw.
type LoadResult struct {
	Replies []Reply // every request written, in no particular order
	// DialErrors are connections that could not be opened; no request was
	// written on them.
	DialErrors []error
	// DialAt is when each of DialErrors happened, in the same order.
	DialAt []time.Time
}

// Failed returns the requests that got no whole answer, or a non-2xx one.
func (r LoadResult) Failed() []Reply {
	var out []Reply
	for _, rep := range r.Replies {
		if rep.Err != nil || rep.Status < 200 || rep.Status > 299 {
			out = append(out, rep)
		}
	}
	return out
}

// Load is a closed-loop HTTP/1.1 load on raw TCP connections that never
// retries: a request whose answer does not arrive whole is counted as
// failed, also on a reused keep-alive connection (net/http's Transport would
// silently send it again). Safe for concurrent use.
type Load struct {
	addr string
	opts LoadOptions
	req  []byte
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	res   LoadResult
	conns int // connection loops still running
}

// StartLoad starts o.Conns connection loops against addr (host:port). Each
// connection is opened before StartLoad returns.
func StartLoad(addr string, o LoadOptions) *Load {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	hdr := "\r\n"
	if o.NoKeepAlive {
		hdr = "Connection: close\r\n\r\n"
	}
	l := &Load{addr: addr, opts: o, stop: make(chan struct{}), conns: o.Conns,
		req: []byte("GET " + o.Path + " HTTP/1.1\r\nHost: " + addr + "\r\n" + hdr)}
	for range o.Conns {
		if o.NoKeepAlive {
			l.wg.Add(1)
			go l.runEach()
			continue
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			l.dialFailed(err)
			l.mu.Lock()
			l.conns--
			l.mu.Unlock()
			continue
		}
		l.wg.Add(1)
		go l.run(c)
	}
	return l
}

func (l *Load) dialFailed(err error) {
	l.mu.Lock()
	l.res.DialErrors = append(l.res.DialErrors, err)
	l.res.DialAt = append(l.res.DialAt, time.Now())
	l.mu.Unlock()
}

// stopped reports whether Stop was called.
func (l *Load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// runEach sends requests one at a time, each on a fresh connection, until
// stopped or MaxRequests.
func (l *Load) runEach() {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		l.conns--
		l.mu.Unlock()
	}()
	for i := 0; l.opts.MaxRequests == 0 || i < l.opts.MaxRequests; i++ {
		if l.stopped() {
			return
		}
		c, err := net.Dial("tcp", l.addr)
		if err != nil {
			l.dialFailed(err)
			continue
		}
		l.add(roundTrip(c, bufio.NewReader(c), l.req, l.opts.Timeout))
		_ = c.Close()
	}
}

// run sends requests on c, one at a time, until stopped, until the server
// closes it (and Reconnect is off) or a request fails.
func (l *Load) run(c net.Conn) {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		l.conns--
		l.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	for i := 0; l.opts.MaxRequests == 0 || i < l.opts.MaxRequests; i++ {
		if l.stopped() {
			_ = c.Close()
			return
		}
		r := roundTrip(c, br, l.req, l.opts.Timeout)
		l.add(r)
		switch {
		case r.Err != nil:
			_ = c.Close()
			return
		case r.Close:
			_ = c.Close()
			if !l.opts.Reconnect {
				return
			}
			var err error
			if c, err = net.Dial("tcp", l.addr); err != nil {
				l.dialFailed(err)
				return
			}
			br.Reset(c)
		}
	}
	_ = c.Close()
}

// roundTrip writes req on c and reads its answer whole through br, all
// within timeout.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte, timeout time.Duration) Reply {
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(req); err != nil {
		return Reply{At: time.Now(), Err: fmt.Errorf("write: %w", err)}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("connection closed before a whole answer: %w", err)
		}
		return Reply{At: time.Now(), Err: fmt.Errorf("read: %w", err)}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	r := Reply{At: time.Now(), Status: resp.StatusCode, Close: resp.Close}
	r.Pid, _ = strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
	if err != nil {
		r.Err = fmt.Errorf("read body: %w", err)
	}
	return r
}

func (l *Load) add(r Reply) {
	l.mu.Lock()
	l.res.Replies = append(l.res.Replies, r)
	l.mu.Unlock()
}

// Served reports whether pid answered a request successfully since t.
func (l *Load) Served(pid int, since time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.res.Replies {
		if r.Err == nil && r.Status == http.StatusOK && r.Pid == pid && !r.At.Before(since) {
			return true
		}
	}
	return false
}

// Count is the number of requests written so far.
func (l *Load) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.res.Replies)
}

// Running is the number of connection loops still sending.
func (l *Load) Running() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns
}

// Stop ends every connection loop after its request in flight and returns
// what the load saw.
func (l *Load) Stop() LoadResult {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	return l.Wait()
}

// Wait waits for every connection loop to end on its own (a keep-alive
// load without Reconnect ends at each connection's Connection: close
// answer or failed request; the others run until Stop) and returns what the
// load saw.
func (l *Load) Wait() LoadResult {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return LoadResult{
		Replies:    append([]Reply(nil), l.res.Replies...),
		DialErrors: append([]error(nil), l.res.DialErrors...),
		DialAt:     append([]time.Time(nil), l.res.DialAt...),
	}
}
