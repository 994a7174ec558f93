// Package load drives one trial of a scenario against a running server and
// returns what the trial measured.
//
// The default engine (EngineLean) is an HTTP/1.1 client of its own on raw
// connections. On Linux, plain http runs on epoll event loops, one per CPU
// the Go scheduler uses (one when the generator is pinned to one CPU), each
// owning its share of the connections and its own accumulator, so the hot
// path takes no lock. https, and every scheme on other systems, runs a
// goroutine per connection on net.Conn (crypto/tls over it). Both build
// each target's request bytes once per trial, parse responses in place
// (status line, headers, Content-Length, chunked bodies, Connection: close,
// X-Worker-Id and X-Worker-Pid) and allocate nothing per request.
//
// It never retries. net/http retries an idempotent request that failed on
// a reused keep-alive connection before any response byte arrived, which
// hides exactly the requests that a reload or a drain loses; here every
// failure is a failed request, counted by its kind: connection refused,
// dial failed, timeout, write failed, reset or closed before any response
// byte, reset or closed mid-response, malformed response (status line,
// header line, Content-Length, chunked body, a line longer than the read
// buffer). Responses outside 2xx are counted by status code. The
// connection is then closed and the loop goes on with a new one.
//
// Closed loop (Mode Closed): Level connections, each sending its next
// request when the previous answer is read; with keep-alive off, each
// request on a new connection. Open loop (Mode Open): vegeta's
// ConstantPacer schedules the requests; each is sent on an idle connection
// at its intended time, a new connection is opened when none is idle (up to
// MaxConns, default rate × timeout, at most DefaultMaxOpenConns), and its
// latency is measured from the intended send time, so queueing in the
// server or the generator is not hidden (no coordinated omission). A
// request still unsent MaxScheduleLag after its time is dropped and
// counted (Outcome.Dropped) rather than queued further; the achieved rate
// is compared with the asked one.
//
// EngineVegeta runs vegeta's Attacker over net/http instead, as a
// cross-check (and for HTTP/2): a fresh Attacker per trial over its own
// http.Transport. It has net/http's retries and costs 3–4 times the lean
// engine's CPU per request.
//
// Every trial is bounded in time (its duration, then each request's
// timeout) and in count: Config.Requests when set; otherwise the open
// loop's schedule (rate × duration) or, closed loop, the time itself;
// vegeta's attacker also stops after MaxRequestsPerSecond × duration. Cancelling the context stops the trial at once: requests in
// flight are abandoned (their connections closed) and not counted; what
// was received before is kept. Run is safe for concurrent use; the Outcome
// it returns belongs to the caller.
package load
