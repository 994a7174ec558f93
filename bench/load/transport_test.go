package load

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkTransport measures what the connection tracking adds to a
// request: the same keep-alive GET through a plain transport and through
// the generator's (tracked connections), against one in-process server
// (its cost is in both).
func BenchmarkTransport(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello\n"))
	}))
	defer srv.Close()
	cfg := Config{KeepAlive: true, Timeout: 5 * time.Second}
	tracked := newClient(newConnTracker(), cfg)
	plain := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: cfg.Timeout}
	for _, c := range []struct {
		name   string
		client *http.Client
	}{{"plain", plain}, {"tracked", tracked}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.client.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

func TestNoteFirstWrite(t *testing.T) {
	tr := newConnTracker()
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nX-Vegeta-Seq: 42\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Vegeta-Seq: 7",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",        // no seq: nothing noted
		"GET / HTTP/1.1\r\nX-Vegeta-Seq: \r\n\r\n", // empty seq
	} {
		tr.noteFirstWrite([]byte(req))
	}
	if tr.FirstOnConn(3) || !tr.FirstOnConn(42) || tr.FirstOnConn(42) || !tr.FirstOnConn(7) {
		t.Error("FirstOnConn does not report exactly the noted seqs 42 and 7, once each")
	}
	if n := tr.pending.Load(); n != 0 {
		t.Errorf("pending %d after taking every noted seq, want 0", n)
	}
}
