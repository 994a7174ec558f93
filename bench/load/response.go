package load

import (
	"bytes"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// failure is a kind of failed request, counted under its text. The texts
// are constants, so counting one does not allocate.
type failure string

// Failure kinds of the lean engine. A response that arrived with a status
// code outside 2xx is not a failure kind: it is counted by its code.
const (
	failRefused      failure = "connection refused"
	failDial         failure = "dial failed"
	failTimeout      failure = "timeout"
	failWrite        failure = "write failed"
	failResetBefore  failure = "connection reset before any response byte"
	failClosedBefore failure = "connection closed before any response byte"
	failResetMid     failure = "connection reset mid-response"
	failClosedMid    failure = "connection closed mid-response"

	failStatusLine    failure = "malformed response: status line"
	failHeaderLine    failure = "malformed response: header line"
	failContentLength failure = "malformed response: Content-Length"
	failChunk         failure = "malformed response: chunked body"
	failLineTooLong   failure = "malformed response: a status or header line longer than the read buffer"
)

// Parser states.
const (
	stStatus     = iota // before or inside the status line
	stHeader            // inside the header block
	stBody              // a body of known length: remain bytes left
	stChunkSize         // a chunk-size line
	stChunkData         // chunk data: remain bytes left
	stChunkEnd          // the CRLF after chunk data
	stTrailer           // trailer lines after the last chunk
	stUntilClose        // a body delimited by the end of the connection
	stDone
)

// maxWorkerID bounds the X-Worker-Id value kept per response; longer
// values are cut (they still name a worker, by their first bytes).
const maxWorkerID = 64

// respParser reads one HTTP/1.x response incrementally from the bytes of a
// connection, keeping only what the accumulator needs: the status code,
// whether the connection stays open, and the worker identity headers. The
// body is skipped, never copied. It does not allocate.
type respParser struct {
	state    uint8
	head     bool  // the request was HEAD: the response has no body
	chunked  bool  // Transfer-Encoding: chunked
	hasTE    bool  // a Transfer-Encoding header was seen
	hasLen   bool  // a Content-Length header was seen
	close    bool  // the server closes the connection after this response
	http10   bool  // an HTTP/1.0 response (closes unless keep-alive)
	keep     bool  // Connection: keep-alive
	remain   int64 // body or chunk bytes left
	length   int64 // Content-Length
	code     int
	pid      int
	widLen   int
	workerID [maxWorkerID]byte
}

// reset prepares the parser for the response to a new request.
func (p *respParser) reset(head bool) {
	*p = respParser{head: head}
}

// done reports whether the response is complete.
func (p *respParser) done() bool { return p.state == stDone }

// keepAlive reports whether the connection can carry the next request.
func (p *respParser) keepAlive() bool {
	return !p.close && (!p.http10 || p.keep)
}

// worker returns the X-Worker-Id value (valid until the next reset).
func (p *respParser) worker() []byte { return p.workerID[:p.widLen] }

// feed parses b, the next bytes of the connection. It returns how many it
// consumed; fewer than len(b) means it needs the rest of a line (the caller
// keeps the unconsumed bytes and reads more) or that the response ended
// (done) and the rest belongs to the next one. A malformed response
// returns its failure kind.
func (p *respParser) feed(b []byte) (int, failure) {
	n := 0
	for n < len(b) && p.state != stDone {
		switch p.state {
		case stStatus, stHeader, stChunkSize, stChunkEnd, stTrailer:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				return n, ""
			}
			line := b[n : n+i]
			n += i + 1
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if f := p.line(line); f != "" {
				return n, f
			}
		case stBody, stChunkData:
			k := int64(len(b) - n)
			if k > p.remain {
				k = p.remain
			}
			n += int(k)
			p.remain -= k
			if p.remain == 0 {
				if p.state == stBody {
					p.state = stDone
				} else {
					p.state = stChunkEnd
				}
			}
		case stUntilClose:
			return len(b), ""
		}
	}
	return n, ""
}

// eof tells the parser the connection ended; it reports whether that
// completed the response (a body delimited by the end of the connection).
func (p *respParser) eof() bool {
	if p.state == stUntilClose {
		p.state = stDone
		return true
	}
	return p.state == stDone
}

// line handles one complete line (without its line ending).
func (p *respParser) line(line []byte) failure {
	switch p.state {
	case stStatus:
		if len(line) == 0 && p.code == 0 {
			return "" // a stray empty line before the status line is allowed
		}
		return p.statusLine(line)
	case stHeader:
		if len(line) == 0 {
			return p.endOfHeader()
		}
		return p.header(line)
	case stChunkSize:
		size, ok := chunkSize(line)
		if !ok {
			return failChunk
		}
		if size == 0 {
			p.state = stTrailer
		} else {
			p.remain, p.state = size, stChunkData
		}
	case stChunkEnd:
		if len(line) != 0 {
			return failChunk
		}
		p.state = stChunkSize
	case stTrailer:
		if len(line) == 0 {
			p.state = stDone
		}
	}
	return ""
}

// statusLine parses "HTTP/1.x NNN reason".
func (p *respParser) statusLine(line []byte) failure {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return failStatusLine
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return failStatusLine
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return failStatusLine
	}
	p.http10 = line[7] == '0'
	p.code = code
	p.state = stHeader
	return ""
}

// header handles one "Name: value" line.
func (p *respParser) header(line []byte) failure {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || line[colon-1] == ' ' || line[colon-1] == '\t' {
		return failHeaderLine // no whitespace between a name and its colon (RFC 9112 §5.1)
	}
	name, value := line[:colon], trimSpace(line[colon+1:])
	switch {
	case equalFold(name, "content-length"):
		v, ok := decimal(value)
		if !ok || (p.hasLen && v != p.length) {
			return failContentLength
		}
		p.length, p.hasLen = v, true
	case equalFold(name, "transfer-encoding"):
		// chunked must be the last coding; anything else is read to the end
		// of the connection (RFC 9112 §6.3).
		p.chunked = hasSuffixFold(value, "chunked")
		p.hasTE = true
	case equalFold(name, "connection"):
		if containsTokenFold(value, "close") {
			p.close = true
		}
		if containsTokenFold(value, "keep-alive") {
			p.keep = true
		}
	case equalFold(name, "x-worker-id"):
		p.widLen = copy(p.workerID[:], value)
	case equalFold(name, "x-worker-pid"):
		p.pid = metrics.ParsePid(value)
	}
	return ""
}

// endOfHeader decides how the body is delimited (RFC 9112 §6.3).
func (p *respParser) endOfHeader() failure {
	switch {
	case p.code < 200 && p.code != 101:
		// an interim response (100 Continue, 103 Early Hints): the real one follows
		head := p.head
		p.reset(head)
	case p.code == 101: // switching protocols: the connection is no longer HTTP/1.1
		p.close = true
		p.state = stDone
	case p.head || p.code == 204 || p.code == 304:
		p.state = stDone
	case p.chunked:
		p.state = stChunkSize
	case p.hasTE: // a transfer coding other than chunked last: read to the end (RFC 9112 §6.3)
		p.close = true
		p.state = stUntilClose
	case p.hasLen:
		if p.length == 0 {
			p.state = stDone
		} else {
			p.remain, p.state = p.length, stBody
		}
	default:
		p.close = true
		p.state = stUntilClose
	}
	return ""
}

// chunkSize parses a chunk-size line: hex digits, optionally followed by
// chunk extensions after ';'.
func chunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = trimSpace(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// decimal parses a non-negative decimal of at most 18 digits.
func decimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether b equals the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func hasSuffixFold(b []byte, s string) bool {
	return len(b) >= len(s) && equalFold(b[len(b)-len(s):], s)
}

// containsTokenFold reports whether the comma-separated list b holds the
// lower-case token s, ignoring case.
func containsTokenFold(b []byte, s string) bool {
	for len(b) > 0 {
		i := bytes.IndexByte(b, ',')
		tok := b
		if i >= 0 {
			tok, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if equalFold(trimSpace(tok), s) {
			return true
		}
	}
	return false
}
