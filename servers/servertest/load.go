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
	// MaxRequests bounds the requests of each connection; zero means 20000.
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
	if o.MaxRequests == 0 {
		o.MaxRequests = 20000
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	l := &Load{addr: addr, opts: o, stop: make(chan struct{}), conns: o.Conns,
		req: []byte("GET " + o.Path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")}
	for range o.Conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			l.mu.Lock()
			l.res.DialErrors = append(l.res.DialErrors, err)
			l.conns--
			l.mu.Unlock()
			continue
		}
		l.wg.Add(1)
		go l.run(c)
	}
	return l
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
	for range l.opts.MaxRequests {
		select {
		case <-l.stop:
			_ = c.Close()
			return
		default:
		}
		r := l.roundTrip(c, br)
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
				l.mu.Lock()
				l.res.DialErrors = append(l.res.DialErrors, err)
				l.mu.Unlock()
				return
			}
			br.Reset(c)
		}
	}
	_ = c.Close()
}

// roundTrip writes one request and reads its answer whole.
func (l *Load) roundTrip(c net.Conn, br *bufio.Reader) Reply {
	_ = c.SetDeadline(time.Now().Add(l.opts.Timeout))
	if _, err := c.Write(l.req); err != nil {
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

// Wait waits for every connection loop to end on its own and returns what
// the load saw.
func (l *Load) Wait() LoadResult {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return LoadResult{
		Replies:    append([]Reply(nil), l.res.Replies...),
		DialErrors: append([]error(nil), l.res.DialErrors...),
	}
}
