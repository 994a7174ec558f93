package app

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/servers/servertest"
)

// testTimeout bounds every wait of these tests; a passing run takes a
// fraction of it.
const testTimeout = 30 * time.Second

// serving starts a Server for h on 127.0.0.1:0 and returns it with its
// address and the result of its Serve.
func serving(t *testing.T, h http.Handler) (*Server, string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return srv, ln.Addr().String(), served
}

// request writes GET path on c and reads the whole answer.
func request(c net.Conn, br *bufio.Reader, path string) (*http.Response, error) {
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp, err
}

func drainAsync(srv *Server, linger time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		done <- srv.Drain(ctx, linger)
	}()
	return done
}

func wait(t *testing.T, what string, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(testTimeout):
		t.Fatalf("%s: not within %s", what, testTimeout)
		return nil
	}
}

// keptAlive dials addr and gets GET / answered on the connection with
// keep-alive (no Connection: close); Cleanup closes the connection.
func keptAlive(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	br := bufio.NewReader(c)
	if resp, err := request(c, br, "/"); err != nil || resp.Close {
		t.Fatalf("GET / before the drain: %v (close %v), want a keep-alive answer", err, resp != nil && resp.Close)
	}
	return c, br
}

// A request that arrives on a keep-alive connection during the drain is
// answered, with Connection: close, and the connection then closes; the
// drain ends once it has.
func TestDrainAnswersKeepAliveWithClose(t *testing.T) {
	srv, addr, served := serving(t, Handler(Config{}))
	c, br := keptAlive(t, addr)
	srv.BeginDrain()
	drained := drainAsync(srv, testTimeout) // the linger outlasts the test: only the close ends the drain
	resp, err := request(c, br, "/")
	if err != nil {
		t.Fatalf("GET / on the idle keep-alive connection during the drain: %v, want an answer", err)
	}
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("GET / during the drain = %d, Connection: close %v; want 200 with Connection: close", resp.StatusCode, resp.Close)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("after the Connection: close answer, read = %v, want EOF", err)
	}
	if err := wait(t, "the drain", drained); err != nil {
		t.Errorf("Drain = %v, want nil", err)
	}
	if err := wait(t, "Serve", served); err != nil {
		t.Errorf("Serve after a drain = %v, want nil", err)
	}
}

// A connection that stays idle is closed after the linger (an orderly
// close, EOF), and the drain then ends.
func TestDrainClosesIdleAfterLinger(t *testing.T) {
	srv, addr, served := serving(t, Handler(Config{}))
	_, br := keptAlive(t, addr)
	if err := wait(t, "the drain", drainAsync(srv, 20*time.Millisecond)); err != nil {
		t.Errorf("Drain = %v, want nil", err)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection after the drain: read = %v, want EOF", err)
	}
	if err := wait(t, "Serve", served); err != nil {
		t.Errorf("Serve after a drain = %v, want nil", err)
	}
}

// While a drain waits for a busy request, a new connection is refused (the
// listener is closed), never accepted and left unanswered.
func TestDrainRefusesNewConnections(t *testing.T) {
	release := make(chan struct{})
	busy := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", Handler(Config{}))
	mux.HandleFunc("/busy", func(w http.ResponseWriter, _ *http.Request) {
		close(busy)
		<-release
	})
	srv, addr, _ := serving(t, mux)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	busyDone := make(chan error, 1)
	go func() {
		// The busy request began before the drain, so its answer keeps the
		// connection open; the client closes it, which ends the drain
		// (the linger outlasts the test).
		_, err := request(c, bufio.NewReader(c), "/busy")
		_ = c.Close()
		busyDone <- err
	}()
	<-busy
	drained := drainAsync(srv, testTimeout)
	// The busy request holds the drain open for as long as the test wants:
	// a connection accepted and left hanging would stay unanswered.
	probes, err := servertest.UntilRefused(addr, testTimeout/2, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before a new connection was refused, %d were answered and %d reset as the listener closed", probes.Answered, probes.Reset)
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while a request was still running", err)
	default:
	}
	close(release)
	if err := wait(t, "the busy request", busyDone); err != nil {
		t.Errorf("the busy request: %v, want an answer", err)
	}
	if err := wait(t, "the drain", drained); err != nil {
		t.Errorf("Drain = %v, want nil", err)
	}
}

// A connection that completed its handshake and sent its request before
// the drain began, but was not accepted yet, is answered rather than reset
// when the listener closes.
func TestDrainServesQueuedConnection(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("taking a listener's queue before closing it is Linux-only (acceptNow)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String()) // queued: nothing accepts yet
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	srv := NewServer(Handler(Config{}))
	srv.BeginDrain()
	// Serve's first Accept races with the drain's stop: either way the
	// queued connection must be served.
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	drained := drainAsync(srv, testTimeout)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("queued connection: %v, want an answer", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("queued connection answered %d, Connection: close %v; want 200 with Connection: close", resp.StatusCode, resp.Close)
	}
	if err := wait(t, "the drain", drained); err != nil {
		t.Errorf("Drain = %v, want nil", err)
	}
	if err := wait(t, "Serve", served); err != nil {
		t.Errorf("Serve after a drain = %v, want nil", err)
	}
}

// A request still running at the deadline makes Drain close it and say so.
func TestDrainDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	busy := make(chan struct{})
	srv, addr, _ := serving(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(busy)
		<-release
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = request(c, bufio.NewReader(c), "/") }()
	<-busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Drain(ctx, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Drain past its deadline = %v, want an error wrapping context.DeadlineExceeded", err)
	}
}

// The window between net/http's StateIdle and StateActive: the server has
// already read the next request's first bytes (the socket holds none any
// more) but still reports the connection idle. closeIdle must not close it
// then, however long it has been idle; it closes it once it has read
// nothing since it went idle.
func TestCloseIdleSkipsAConnReadingARequest(t *testing.T) {
	srv := NewServer(http.NotFoundHandler())
	server, client := net.Pipe()
	defer client.Close()
	c := &readConn{Conn: server}
	srv.track(c, http.StateNew)
	srv.track(c, http.StateActive)
	srv.track(c, http.StateIdle)
	srv.BeginDrain()
	const linger = time.Millisecond
	late := time.Now().Add(time.Hour) // long past the linger

	// What bufio.Reader.Peek does after StateIdle: a read that empties the
	// socket into net/http's buffer.
	go func() { _, _ = io.WriteString(client, "GET / HTTP/1.1\r\n") }()
	if _, err := c.Read(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	if open := srv.closeIdle(late, linger); open != 1 || srv.conns[c].connState() != http.StateIdle {
		t.Fatalf("closeIdle closed a connection that read a request's bytes after it went idle (open %d, state %v)", open, srv.conns[c].connState())
	}

	// The request is answered and the connection idle again, reading
	// nothing: now it is closed.
	srv.track(c, http.StateActive)
	srv.track(c, http.StateIdle)
	srv.closeIdle(late, linger)
	if st := srv.conns[c].connState(); st != http.StateClosed {
		t.Fatalf("closeIdle left an idle connection that read nothing in state %v, want it closed", st)
	}
	if _, err := client.Write([]byte("x")); err == nil {
		t.Error("the pipe's server end is still open after closeIdle")
	}
}
