package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a minimal http.ResponseWriter that keeps no body, so the
// benchmarks count the handler's own allocations, not a recorder's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func benchRoute(b *testing.B, path string) {
	h := Handler(Config{Exec: Inline{ID: 3}, Pid: 4242})
	req := httptest.NewRequest(http.MethodGet, path, nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkHandlerHello is the per-request cost of GET / in app.Handler
// alone (no network): the figure the harness's hello scenarios pay per
// request on top of net/http.
func BenchmarkHandlerHello(b *testing.B) { benchRoute(b, "/") }

// BenchmarkHandlerCalcFib1 is GET /calc with a trivial calculation: the
// routing, parsing and JSON cost of a /calc request.
func BenchmarkHandlerCalcFib1(b *testing.B) { benchRoute(b, "/calc/fibonacci?n=1") }

// BenchmarkHandlerHealthz is GET /healthz.
func BenchmarkHandlerHealthz(b *testing.B) { benchRoute(b, "/healthz") }
