package calc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	big := strings.Repeat("7", 100_000) // larger than the reader's buffer
	_, _ = bw.Write(appendTask(nil, 1<<40, kindFibonacci, 27))
	for _, p := range []string{"", "1", big} {
		if err := writeResult(bw, 7, 12345, statusOK, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeResult(bw, 8, 0, statusError, "fibonacci: n=99 out of range"); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	fr := newFrameReader(&buf, 4096)
	body, err := fr.next()
	if err != nil {
		t.Fatal(err)
	}
	task, err := parseTask(body)
	if err != nil || task != (wireTask{id: 1 << 40, kind: kindFibonacci, n: 27}) {
		t.Fatalf("task = %+v, %v", task, err)
	}
	for _, want := range []string{"", "1", big} {
		body, err := fr.next()
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseResult(body)
		if err != nil || r.id != 7 || r.computeNs != 12345 || r.status != statusOK || string(r.payload) != want {
			t.Fatalf("result = id %d ns %d status %d payload %d bytes, err %v", r.id, r.computeNs, r.status, len(r.payload), err)
		}
	}
	body, err = fr.next()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := parseResult(body); err != nil || r.status != statusError || string(r.payload) != "fibonacci: n=99 out of range" {
		t.Fatalf("error result = %+v, %v", r, err)
	}
	if _, err := fr.next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameErrors(t *testing.T) {
	task := appendTask(nil, 3, kindSum, 1)
	tests := []struct {
		name, in string
		want     string // substring of the error
	}{
		{"empty body", "\x00", "empty body"},
		{"too large", "\xff\xff\xff\x7f", "exceeds the limit"},
		{"length overflow", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "length prefix"},
		{"truncated length", "\x80", "truncated frame length"},
		{"truncated body", "\x05R\x01", "truncated frame: body of 5 bytes, stream ended after 2"},
		{"cut task", string(task[:len(task)-1]), "truncated frame"},
		{"wrong type", "\x03X\x01\x01", "want a result frame ('R'), got type byte 'X'"},
		{"task as result", string(task), "want a result frame"},
		{"missing status", "\x03R\x01\x01", "missing status"},
		{"bad status", "\x04R\x01\x01\x07", "unknown status 7"},
		{"varint id overflow", "\x0bR\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", "overflows"},
		{"truncated id", "\x02R\x80", "truncated varint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := newFrameReader(strings.NewReader(tt.in), 16)
			body, err := fr.next()
			if err == nil {
				_, err = parseResult(body)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if !errors.Is(err, ErrFrame) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %v wraps neither ErrFrame nor io.ErrUnexpectedEOF", err)
			}
		})
	}
	for _, in := range []string{"\x02T\x01", "\x04T\x01\x02\x03\x04", "\x01R"} {
		if _, err := parseTask([]byte(in[1:])); err == nil || !errors.Is(err, ErrFrame) {
			t.Errorf("parseTask(%q) = %v, want a malformed-frame error", in, err)
		}
	}
}

// FuzzFrameDecoder feeds arbitrary bytes to the master's decoder: it must
// return frames or a clear error, and always finish.
func FuzzFrameDecoder(f *testing.F) {
	var ok []byte
	ok = appendResultHeader(ok, 1, 2, statusOK, 3)
	ok = append(ok, "120"...)
	f.Add(ok)
	f.Add(appendTask(nil, 9, kindFactorial, 20000))
	f.Add(ok[:len(ok)-1])
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte{0x00})
	f.Add([]byte{0x80, 0x80, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, size := range []int{16, 4096} {
			fr := newFrameReader(bytes.NewReader(data), size)
			for frames := 0; ; frames++ {
				if frames > len(data) {
					t.Fatalf("%d frames from %d bytes", frames, len(data))
				}
				body, err := fr.next()
				if err != nil {
					if err != io.EOF && !errors.Is(err, ErrFrame) && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("unclassified error %v", err)
					}
					break
				}
				if len(body) == 0 || len(body) > MaxFrame {
					t.Fatalf("body of %d bytes", len(body))
				}
				if r, err := parseResult(body); err == nil {
					if r.status > statusError {
						t.Fatalf("status %d accepted", r.status)
					}
				} else if !errors.Is(err, ErrFrame) {
					t.Fatalf("unclassified parse error %v", err)
				}
				if _, err := parseTask(body); err != nil && !errors.Is(err, ErrFrame) {
					t.Fatalf("unclassified parse error %v", err)
				}
			}
		}
	})
}

// FuzzServeWorker feeds arbitrary bytes to a worker: it must answer or
// stop with an error, never hang or panic.
func FuzzServeWorker(f *testing.F) {
	f.Add(appendTask(appendTask(nil, 1, kindSum, 10), 2, kindFibonacci, 10))
	f.Add(appendTask(nil, 1, 9, 10))
	f.Add(appendTask(nil, 1, kindFibonacci, 1<<63))
	f.Add([]byte("\x03T\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Keep each case cheap: arguments beyond the bounds are refused
		// at once, but the largest allowed ones take up to a second.
		fr := newFrameReader(bytes.NewReader(data), 4096)
		for {
			body, err := fr.next()
			if err != nil {
				break
			}
			if tk, err := parseTask(body); err == nil && slowTask(tk) {
				t.Skip("a valid but slow task (fibonacci > 25, sum or primes > 1e6, factorial > 2000)")
			}
		}
		var out bytes.Buffer
		_ = ServeWorker(bytes.NewReader(data), &out)
		fr = newFrameReader(&out, 4096)
		for {
			body, err := fr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("worker wrote a bad frame: %v", err)
			}
			if _, err := parseResult(body); err != nil {
				t.Fatalf("worker wrote a bad result: %v", err)
			}
		}
	})
}

func slowTask(t wireTask) bool {
	switch t.kind {
	case kindFibonacci:
		return t.n > 25
	case kindSum, kindPrimes:
		return t.n > 1_000_000
	case kindFactorial:
		return t.n > 2000
	}
	return false
}
