package calc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The wire protocol between the master and a worker process.
//
// Every frame is uvarint(len(body)) followed by body; body[0] is the frame
// type. Integers inside a body are unsigned varints.
//
//	hello  (worker → master): 'H' pid             first frame of a worker
//	task   (master → worker): 'T' id kind n
//	result (worker → master): 'R' id compute_ns status payload...
//
// kind is one byte (see kindCode); status is 0 for a value and 1 for an
// error; payload is the rest of the body: the exact decimal result, or the
// error text. A tiny task is 5–8 bytes on the wire, a tiny result 5–9.
const (
	frameHello  = 'H'
	frameTask   = 'T'
	frameResult = 'R'

	statusOK    = 0
	statusError = 1

	// MaxFrame is the largest body a decoder accepts (20000! has 77,338
	// digits, so results fit with room to spare).
	MaxFrame = 1 << 20

	// maxTaskFrame bounds an encoded task frame (length prefix included).
	maxTaskFrame = 1 + 1 + binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64
)

// ErrFrame is wrapped by every error about a malformed frame.
var ErrFrame = errors.New("malformed frame")

func frameErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFrame}, args...)...)
}

// frameReader decodes frames from a buffered stream without allocating for
// frames that fit its buffer. It is not safe for concurrent use.
type frameReader struct {
	cr      countingReader
	br      *bufio.Reader
	scratch []byte
}

// countingReader counts the reads that reach the underlying stream, so a
// caller can tell whether decoding a frame waited for new data.
type countingReader struct {
	r     io.Reader
	reads int
	err   error // the last error of the stream, to tell I/O errors from bad frames
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	n, err := c.r.Read(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

func newFrameReader(r io.Reader, size int) *frameReader {
	f := &frameReader{}
	f.cr.r = r
	f.br = bufio.NewReaderSize(&f.cr, size)
	return f
}

// buffered is the number of bytes decoded frames can take without a read.
func (f *frameReader) buffered() int { return f.br.Buffered() }

// next returns the body of the next frame. The body is valid until the next
// call. A clean end of stream between frames is io.EOF; a stream that ends
// inside a frame is io.ErrUnexpectedEOF wrapped with what was cut.
func (f *frameReader) next() ([]byte, error) {
	n, err := binary.ReadUvarint(f.br)
	if err != nil {
		switch {
		case err == io.EOF:
			return nil, io.EOF
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("truncated frame length: %w", io.ErrUnexpectedEOF)
		case f.cr.err != nil && errors.Is(err, f.cr.err):
			return nil, err // the stream failed (closed, deadline)
		default: // overflow
			return nil, frameErr("length prefix: %v", err)
		}
	}
	if n == 0 {
		return nil, frameErr("empty body")
	}
	if n > MaxFrame {
		return nil, frameErr("body of %d bytes exceeds the limit of %d", n, MaxFrame)
	}
	size := int(n)
	if size <= f.br.Size() {
		b, err := f.br.Peek(size)
		if err != nil {
			return nil, truncated(size, len(b), err)
		}
		_, _ = f.br.Discard(size)
		return b, nil
	}
	if cap(f.scratch) < size {
		f.scratch = make([]byte, size)
	}
	b := f.scratch[:size]
	if got, err := io.ReadFull(f.br, b); err != nil {
		return nil, truncated(size, got, err)
	}
	return b, nil
}

func truncated(want, got int, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated frame: body of %d bytes, stream ended after %d: %w", want, got, io.ErrUnexpectedEOF)
	}
	return err
}

// wireTask is a decoded task frame.
type wireTask struct {
	id   uint64
	kind byte
	n    uint64
}

// wireResult is a decoded result frame; payload aliases the frame body.
type wireResult struct {
	id        uint64
	computeNs uint64
	status    byte
	payload   []byte
}

func uvarint(b []byte, what string) (uint64, []byte, error) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		if k == 0 {
			return 0, nil, frameErr("%s: truncated varint", what)
		}
		return 0, nil, frameErr("%s: varint overflows 64 bits", what)
	}
	return v, b[k:], nil
}

func parseTask(body []byte) (wireTask, error) {
	var t wireTask
	if len(body) == 0 || body[0] != frameTask {
		return t, frameErr("want a task frame ('T'), got %s", typeName(body))
	}
	var err error
	rest := body[1:]
	if t.id, rest, err = uvarint(rest, "task id"); err != nil {
		return t, err
	}
	if len(rest) == 0 {
		return t, frameErr("task %d: missing kind", t.id)
	}
	t.kind, rest = rest[0], rest[1:]
	if t.n, rest, err = uvarint(rest, "task n"); err != nil {
		return t, err
	}
	if len(rest) != 0 {
		return t, frameErr("task %d: %d trailing bytes", t.id, len(rest))
	}
	return t, nil
}

func parseResult(body []byte) (wireResult, error) {
	var r wireResult
	if len(body) == 0 || body[0] != frameResult {
		return r, frameErr("want a result frame ('R'), got %s", typeName(body))
	}
	var err error
	rest := body[1:]
	if r.id, rest, err = uvarint(rest, "result id"); err != nil {
		return r, err
	}
	if r.computeNs, rest, err = uvarint(rest, "result compute_ns"); err != nil {
		return r, err
	}
	if len(rest) == 0 {
		return r, frameErr("result %d: missing status", r.id)
	}
	r.status, r.payload = rest[0], rest[1:]
	if r.status != statusOK && r.status != statusError {
		return r, frameErr("result %d: unknown status %d (allowed: 0 ok, 1 error)", r.id, r.status)
	}
	return r, nil
}

func typeName(body []byte) string {
	if len(body) == 0 {
		return "an empty body"
	}
	return fmt.Sprintf("type byte %q", body[0])
}

// appendTask appends an encoded task frame to b.
func appendTask(b []byte, id uint64, kind byte, n uint64) []byte {
	var body [maxTaskFrame]byte
	body[0] = frameTask
	k := 1 + binary.PutUvarint(body[1:], id)
	body[k] = kind
	k++
	k += binary.PutUvarint(body[k:], n)
	b = binary.AppendUvarint(b, uint64(k))
	return append(b, body[:k]...)
}

// appendResultHeader appends a result frame's length prefix and header for
// a payload of payloadLen bytes; the caller appends the payload.
func appendResultHeader(b []byte, id, computeNs uint64, status byte, payloadLen int) []byte {
	var hdr [1 + 2*binary.MaxVarintLen64 + 1]byte
	hdr[0] = frameResult
	k := 1 + binary.PutUvarint(hdr[1:], id)
	k += binary.PutUvarint(hdr[k:], computeNs)
	hdr[k] = status
	k++
	b = binary.AppendUvarint(b, uint64(k+payloadLen))
	return append(b, hdr[:k]...)
}

// writeResult writes one result frame to w without allocating.
func writeResult(w *bufio.Writer, id, computeNs uint64, status byte, payload string) error {
	if 1+2*binary.MaxVarintLen64+1+len(payload) > MaxFrame {
		status = statusError
		payload = fmt.Sprintf("result of %d bytes exceeds the frame limit", len(payload))
	}
	_, err := w.Write(appendResultHeader(w.AvailableBuffer(), id, computeNs, status, len(payload)))
	if err != nil {
		return err
	}
	_, err = w.WriteString(payload)
	return err
}

// appendHello appends the hello frame a worker sends first.
func appendHello(b []byte, pid int) []byte {
	var body [1 + binary.MaxVarintLen64]byte
	body[0] = frameHello
	k := 1 + binary.PutUvarint(body[1:], uint64(pid))
	b = binary.AppendUvarint(b, uint64(k))
	return append(b, body[:k]...)
}

func parseHello(body []byte) (int, error) {
	if len(body) == 0 || body[0] != frameHello {
		return 0, frameErr("want a hello frame ('H'), got %s", typeName(body))
	}
	pid, rest, err := uvarint(body[1:], "hello pid")
	if err != nil {
		return 0, err
	}
	if len(rest) != 0 || pid == 0 || pid > 1<<31 {
		return 0, frameErr("hello: pid %d with %d trailing bytes", pid, len(rest))
	}
	return int(pid), nil
}
