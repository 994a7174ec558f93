package metrics

import (
	"strings"
	"testing"
)

func TestNormalizeError(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"503 Service Unavailable", "503 Service Unavailable"},
		{"read tcp 127.0.0.1:51234->127.0.0.1:3000: read: connection reset by peer",
			"read tcp ADDR->ADDR: read: connection reset by peer"},
		{`Get "http://127.0.0.1:3000/calc/sum?n=1000": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
			`Get "http://ADDR/calc/sum?n=1000": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`},
		{"dial tcp [::1]:8080: connect: connection refused", "dial tcp ADDR: connect: connection refused"},
		{"dial tcp 10.0.0.1: i/o timeout", "dial tcp ADDR: i/o timeout"},
		{"version 1.2.3 is fine", "version 1.2.3 is fine"},
		{"1.2.3.4.5 is not an address", "1.2.3.4.5 is not an address"},
		{"x1.2.3.4 glued to a word", "x1.2.3.4 glued to a word"},
		{"[] and [x] are not addresses", "[] and [x] are not addresses"},
		{"port-less 8.8.8.8", "port-less ADDR"},
		{"1234.1.1.1 too long a part", "1234.1.1.1 too long a part"},
	} {
		if got := string(NormalizeError(nil, c.in)); got != c.want {
			t.Errorf("NormalizeError(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzNormalizeError(f *testing.F) {
	f.Add("read tcp 127.0.0.1:51234->127.0.0.1:3000: read: connection reset by peer")
	f.Add("dial tcp [::1]:8080: connect")
	f.Add("1.2.3.4.5")
	f.Fuzz(func(t *testing.T, s string) {
		out := string(NormalizeError(nil, s))
		if again := string(NormalizeError(nil, out)); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", s, out, again)
		}
		// An address between spaces is always replaced.
		wrapped := string(NormalizeError(nil, s+" 10.1.2.3:4 "))
		if !strings.HasSuffix(wrapped, " ADDR ") {
			t.Fatalf("address after %q not replaced: %q", s, wrapped)
		}
	})
}
