package load

import (
	"strings"
	"testing"
)

// parseAll feeds resp to a parser in pieces of size step (every size from
// 1 byte up exercises each split point), keeping unconsumed bytes as a
// connection does, and returns the parser, the bytes left after the
// response and the failure.
func parseAll(t *testing.T, resp string, head bool, step int) (*respParser, string, failure) {
	t.Helper()
	c := &conn{}
	c.reconnect()
	c.p.reset(head)
	in := []byte(resp)
	for len(in) > 0 {
		k := min(step, len(in), len(c.buf)-c.w)
		c.w += copy(c.buf[c.w:], in[:k])
		in = in[k:]
		done, f := c.parse()
		if f != "" || done {
			return &c.p, string(c.buf[c.r:c.w]) + string(in), f
		}
	}
	if c.p.eof() {
		return &c.p, "", ""
	}
	return &c.p, string(c.buf[c.r:c.w]), "incomplete"
}

func TestParseResponses(t *testing.T) {
	for _, c := range []struct {
		name, resp string
		head       bool
		code, pid  int
		worker     string
		keep       bool
		rest       string
		fail       failure
	}{
		{name: "content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Worker-Id: 3\r\nX-Worker-Pid: 4242\r\n\r\nhelloNEXT",
			code: 200, pid: 4242, worker: "3", keep: true, rest: "NEXT"},
		{name: "case and spaces", resp: "HTTP/1.1 201 Created\r\ncontent-LENGTH:  2 \r\nx-worker-id:\t7\r\n\r\nok",
			code: 201, worker: "7", keep: true},
		{name: "chunked with extension and trailer", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n",
			code: 200, keep: true},
		{name: "connection close", resp: "HTTP/1.1 503 Busy\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", code: 503},
		{name: "http/1.0 closes", resp: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", code: 200},
		{name: "http/1.0 keep-alive", resp: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", code: 200, keep: true},
		{name: "until close", resp: "HTTP/1.1 200 OK\r\n\r\nbody to the end", code: 200},
		{name: "head ignores length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head: true, code: 200, keep: true},
		{name: "204 has no body", resp: "HTTP/1.1 204 No Content\r\n\r\nNEXT", code: 204, keep: true, rest: "NEXT"},
		{name: "100 continue first", resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", code: 200, keep: true},
		{name: "bare LF", resp: "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", code: 200, keep: true},
		{name: "no reason phrase", resp: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", code: 404, keep: true},
		{name: "long worker id is cut", resp: "HTTP/1.1 200 OK\r\nX-Worker-Id: " + strings.Repeat("w", 100) + "\r\nContent-Length: 0\r\n\r\n",
			code: 200, worker: strings.Repeat("w", maxWorkerID), keep: true},
		{name: "not http", resp: "SSH-2.0-OpenSSH\r\n", fail: failStatusLine},
		{name: "minor version not a digit", resp: "HTTP/1.x 200 OK\r\n\r\n", fail: failStatusLine},
		{name: "space before a colon", resp: "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", fail: failHeaderLine},
		{name: "other transfer coding beats length", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nto the end", code: 200},
		{name: "101 closes", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", code: 101},
		{name: "bad code", resp: "HTTP/1.1 2x0 OK\r\n\r\n", fail: failStatusLine},
		{name: "header without colon", resp: "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", fail: failHeaderLine},
		{name: "bad content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", fail: failContentLength},
		{name: "two content-lengths", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", fail: failContentLength},
		{name: "bad chunk size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", fail: failChunk},
		{name: "chunk without CRLF", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n", fail: failChunk},
		{name: "line longer than the buffer", resp: "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", ReadBuffer) + "\r\n\r\n", fail: failLineTooLong},
		{name: "headers longer than the buffer, lines short", resp: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: 0123456789\r\n", ReadBuffer/10) + "Content-Length: 0\r\n\r\n",
			code: 200, keep: true},
	} {
		for _, step := range []int{1, 3, 7, 64, 1 << 20} {
			p, rest, f := parseAll(t, c.resp, c.head, step)
			if f != c.fail {
				t.Errorf("%s (step %d): failure %q, want %q", c.name, step, f, c.fail)
				continue
			}
			if f != "" {
				continue
			}
			if p.code != c.code || p.pid != c.pid || string(p.worker()) != c.worker || p.keepAlive() != c.keep || rest != c.rest {
				t.Errorf("%s (step %d): code %d pid %d worker %q keep-alive %v rest %q; want %d %d %q %v %q",
					c.name, step, p.code, p.pid, p.worker(), p.keepAlive(), rest, c.code, c.pid, c.worker, c.keep, c.rest)
			}
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Worker-Id: 3\r\nX-Worker-Pid: 4242\r\nDate: now\r\n\r\nhello")
	var p respParser
	if n := testing.AllocsPerRun(1000, func() {
		p.reset(false)
		if _, f := p.feed(resp); f != "" || !p.done() {
			t.Fatalf("failure %q, done %v", f, p.done())
		}
	}); n != 0 {
		t.Errorf("parsing a response allocates %v times, want 0", n)
	}
}

// FuzzParse checks that no input makes the parser panic, loop or read out
// of bounds, that it consumes at most what it is given, and that feeding
// the same bytes whole or a byte at a time gives the same result.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Worker-Id: 3\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 100 Continue\r\n\r\nHTTP/1.0 204 x\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"\r\nHTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, head bool) {
		var whole, bytewise respParser
		whole.reset(head)
		bytewise.reset(head)
		n, f1 := whole.feed(b)
		if n < 0 || n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		// bytewise: feed what is unconsumed plus one more byte each time, as
		// a connection with a tiny read size would
		var f2 failure
		start, end := 0, 0
		for end < len(b) && f2 == "" && !bytewise.done() {
			end++
			k, f := bytewise.feed(b[start:end])
			start += k
			f2 = f
		}
		if f1 != f2 || whole.done() != bytewise.done() || whole.code != bytewise.code || (f1 == "" && whole.done() && n != start) {
			t.Fatalf("whole: %q done %v code %d consumed %d; byte-wise: %q done %v code %d consumed %d",
				f1, whole.done(), whole.code, n, f2, bytewise.done(), bytewise.code, start)
		}
	})
}
