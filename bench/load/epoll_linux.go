package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// run drives the trial: plain http on epoll event loops, https on a
// goroutine per connection.
func (t *leanTrial) run(ctx context.Context) (*metrics.Accumulator, time.Duration, error) {
	if t.ep.tls || t.cfg.goroutines {
		return t.runGoroutines(ctx)
	}
	return t.runEpoll()
}

// Connection states in an event loop.
const (
	csConnecting = iota + 1 // non-blocking connect in progress
	csIdle                  // connected, no request in flight (open loop)
	csBusy                  // a request in flight
)

// econn is a connection of an event loop.
type econn struct {
	conn
	fd       int
	slot     int
	state    uint8
	pending  bool          // open loop: a request waits for the connect to finish
	deadline time.Duration // the request (or connect) in flight times out here
}

// epollLoop is one event loop: one goroutine, one epoll instance, its
// share of the connections and its own accumulator, so the hot path takes
// no lock. A trial runs one loop per CPU the Go scheduler runs on.
type epollLoop struct {
	t          *leanTrial
	ep         int
	pw         *parkedWait // parked waits on ep: all but the last stretch before a due send
	sa         unix.Sockaddr
	family     int
	acc        *metrics.Accumulator
	live       *liveSlot // Config.Live's count of this loop, published at each check; nil = none
	slots      []*econn  // by epoll data; nil entries are free
	free       []int
	idle       []*econn // open loop: connected, waiting for a request
	nconns     int      // open connections and connects in progress
	connecting int      // connects in progress
	drained    bool     // the last epoll_wait returned every ready event
	spares     []*econn // closed connections kept for reuse
	want       int      // closed loop: connections to keep
	maxConns   int      // open loop
	busy       int      // requests in flight
	pace       *pace    // open loop
	last       time.Duration
	events     [256]unix.EpollEvent
	check      time.Duration // next timeout check
	err        error
}

func (t *leanTrial) runEpoll() (*metrics.Accumulator, time.Duration, error) {
	addr, err := net.ResolveTCPAddr("tcp", t.ep.addr)
	if err != nil {
		return nil, 0, fmt.Errorf("load: %w", err)
	}
	// one Sockaddr per loop: unix.Connect writes into it
	sockaddr := func() (unix.Sockaddr, int) {
		if ip4 := addr.IP.To4(); ip4 != nil {
			s := &unix.SockaddrInet4{Port: addr.Port}
			copy(s.Addr[:], ip4)
			return s, unix.AF_INET
		}
		s := &unix.SockaddrInet6{Port: addr.Port}
		copy(s.Addr[:], addr.IP.To16())
		return s, unix.AF_INET6
	}
	conns := t.cfg.Level
	if t.open {
		conns = t.maxConns
	}
	n := loops(conns, runtime.GOMAXPROCS(0))
	ls := make([]*epollLoop, n)
	live := t.cfg.Live.begin(n)
	for i := range ls {
		pw, err := newParkedWait()
		if err != nil {
			for _, l := range ls[:i] {
				l.pw.close()
			}
			return nil, 0, fmt.Errorf("load: epoll: %w", err)
		}
		l := &epollLoop{t: t, ep: pw.ep, pw: pw, acc: t.newAcc(), live: slot(live, i)}
		l.sa, l.family = sockaddr()
		share := conns / n
		if i < conns%n {
			share++
		}
		if t.open {
			l.maxConns = share
			l.pace = newPace(t.pacer, t.end, i, n)
		} else {
			l.want = share
		}
		ls[i] = l
	}
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run()
		}()
	}
	wg.Wait()
	acc := ls[0].acc
	var last time.Duration
	var errs []error
	for _, l := range ls {
		l.live.publish(l.acc) // the loop's last figures
		if l != ls[0] {
			acc.Merge(l.acc)
		}
		last = max(last, l.last)
		errs = append(errs, l.err)
		l.pw.close()
	}
	return acc, last, errors.Join(errs...)
}

// run is the event loop. It returns when the trial is over: the duration
// has passed and every request in flight was answered or timed out, or the
// trial was interrupted.
func (l *epollLoop) run() {
	t := l.t
	defer l.closeAll()
	if l.pace != nil {
		// Open the first connections before the first send is due.
		for range min(l.maxConns, maxConnecting) {
			if c, err := l.dial(0); c == nil {
				return
			} else if err == nil && c.state == csIdle {
				l.idle = append(l.idle, c)
			}
		}
	}
	for {
		now := t.since()
		if t.stop.Load() {
			return
		}
		var sending bool
		if l.pace != nil {
			l.sendDue(now)
			sending = !l.pace.ended
		} else if sending = now < t.end && !t.exhausted(); sending {
			for k := l.nconns; k < l.want; k++ { // top up: a failed connect is retried here
				l.dialClosed(now)
			}
		}
		if !sending && l.busy == 0 {
			return
		}
		if now >= l.check {
			l.expire(now)
			l.check = now + checkEvery
			l.live.publish(l.acc)
		}
		wait := l.check - now
		if l.pace == nil && sending {
			wait = min(wait, t.end-now)
		}
		// send: the loop has a send to make at l.pace.next, and the wait
		// must not end after it; the other waits (for the next timeout
		// check, for the end of sending) may end a millisecond late.
		send := l.pace != nil && !l.pace.ended && l.canSend()
		if send {
			wait = min(wait, l.pace.next-now)
		}
		if !l.drained || wait < spinBelow {
			// Due so soon that sleeping costs more than it saves (a timer,
			// two context switches): poll instead. A send that still ends
			// up late has its latency counted from the intended time.
			wait = 0
		}
		var n int
		var err error
		switch {
		case wait > 0 && !send:
			n, err = l.pw.wait(l.events[:], wait)
		case wait >= parkAbove:
			n, err = l.pw.wait(l.events[:], wait-parkSlack)
		default:
			n, err = epollWait(l.ep, l.events[:], wait)
		}
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			l.err = fmt.Errorf("load: epoll_wait: %w", err)
			return
		}
		for i := range n {
			ev := &l.events[i]
			if c := l.slots[ev.Fd]; c != nil {
				l.handle(c, ev.Events)
			}
		}
		l.drained = n < len(l.events)
	}
}

// sendDue sends the open loop's due requests on idle connections, opening
// connections up to the cap; requests further behind than MaxScheduleLag
// are dropped and counted.
func (l *epollLoop) sendDue(now time.Duration) {
	ps := l.pace
	for !ps.ended && ps.next <= now {
		if now-ps.next > MaxScheduleLag {
			l.t.dropped.Add(1)
			ps.take()
			continue
		}
		if !l.canSend() {
			return // every connection is busy: the hit waits, its latency counting
		}
		if !l.t.claim() {
			ps.ended = true
			return
		}
		if n := len(l.idle); n > 0 {
			c := l.idle[n-1]
			l.idle = l.idle[:n-1]
			c.begin(l.t, now, ps.next)
			ps.take()
			l.send(c, now)
			continue
		}
		if !l.dialRequest(now, ps.next) {
			return // the loop failed (l.err); the trial stops
		}
		ps.take()
	}
}

// canSend reports whether an open loop has a connection for a due
// request: an idle one, or room to open one. Connects in progress are
// bounded too, so that a burst does not dial hundreds of connections at
// once (overflowing the server's accept queue, which costs a one-second
// SYN retransmit) while a few would do.
func (l *epollLoop) canSend() bool {
	return len(l.idle) > 0 || l.canDial()
}

// canDial reports whether an open loop may open a connection for a due
// request. Only once the last epoll_wait returned every ready event: a
// loop that is behind has answers waiting to be read, which free
// connections, and dialling instead would put it further behind.
func (l *epollLoop) canDial() bool {
	return l.drained && l.nconns < l.maxConns && l.connecting < maxConnecting
}

// dialClosed opens a closed-loop connection; it sends its first request
// once connected. A connect that fails at once is a failed request.
func (l *epollLoop) dialClosed(now time.Duration) {
	if l.t.claim() {
		l.dialRequest(now, now)
	}
}

// dialRequest opens a connection for a request intended at origin. The
// request begins with the dial (its latency counts the connect) and is in
// flight (busy) until answered, so a trial does not end with it unsent; a
// connect that fails at once is a failed request. It reports false when
// the loop itself failed (l.err).
func (l *epollLoop) dialRequest(now, origin time.Duration) bool {
	c, err := l.dial(now)
	if c == nil {
		return false
	}
	c.begin(l.t, now, origin)
	switch {
	case err != nil:
		l.connectFailed(c, now, err)
	case c.state == csConnecting:
		c.pending = true
		l.busy++
	default:
		l.send(c, now)
	}
	return true
}

// dial opens a connection (non-blocking). It returns the connection
// connecting or connected, or, when the connect failed at once, a closed
// connection and the error; nil when the loop itself failed (l.err).
func (l *epollLoop) dial(now time.Duration) (*econn, error) {
	t := l.t
	c := l.spare()
	c.reconnect()
	fd, err := unix.Socket(l.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		l.fail(fmt.Errorf("load: socket: %w", err))
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	t.dials.Add(1)
	err = unix.Connect(fd, l.sa)
	switch {
	case err == nil:
		c.state = csIdle
	case err == unix.EINPROGRESS:
		c.state = csConnecting
		l.connecting++
		c.deadline = now + t.timeout
	default:
		_ = unix.Close(fd)
		return c, err
	}
	c.fd = fd
	if len(l.free) > 0 {
		c.slot = l.free[len(l.free)-1]
		l.free = l.free[:len(l.free)-1]
	} else {
		c.slot = len(l.slots)
		l.slots = append(l.slots, nil)
	}
	l.slots[c.slot] = c
	l.nconns++
	events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
	if c.state == csConnecting {
		events = unix.EPOLLOUT
	}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: events, Fd: int32(c.slot)}); err != nil {
		l.drop(c)
		l.fail(fmt.Errorf("load: epoll_ctl: %w", err))
		return nil, err
	}
	return c, nil
}

// fail stops the trial on an error of the loop itself (not of a request).
func (l *epollLoop) fail(err error) {
	if l.err == nil {
		l.err = err
	}
	l.t.stop.Store(true)
}

// connectFailed records a failed connect as the failed request prepared
// on c (by begin).
func (l *epollLoop) connectFailed(c *econn, now time.Duration, err error) {
	f := failDial
	if err == unix.ECONNREFUSED {
		f = failRefused
	} else if err == unix.ETIMEDOUT {
		f = failTimeout
	}
	c.record(l.t, l.acc, now, f)
	l.last = max(l.last, now)
}

// handle reacts to the events of one connection.
func (l *epollLoop) handle(c *econn, events uint32) {
	switch c.state {
	case csConnecting:
		now := l.t.since()
		errno, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && errno != 0 {
			err = unix.Errno(errno)
		}
		if err != nil {
			l.connectDone(c, now, err)
			return
		}
		_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.slot)})
		c.state = csIdle
		l.connecting--
		if c.pending { // the request it was opened for
			c.pending = false
			l.busy--
			l.send(c, now)
		} else { // opened ahead of the open loop's first sends
			l.idle = append(l.idle, c)
		}
	case csIdle:
		// The server closed (or wrote to) a connection with nothing in
		// flight: not a request of ours; close it.
		l.drop(c)
		l.removeIdle(c)
	case csBusy:
		if c.wpos < len(c.tgt.req) && events&unix.EPOLLOUT != 0 {
			l.write(c, l.t.since())
			return
		}
		l.read(c) // reads the clock itself, after the read returns
	}
}

// connectDone handles a connect that failed or timed out: the request
// waiting for it (open loop) or the one it was opened for (closed loop)
// fails.
func (l *epollLoop) connectDone(c *econn, now time.Duration, err error) {
	pending := c.pending
	l.drop(c)
	if pending {
		l.busy--
		l.connectFailed(c, now, err)
	}
}

// send writes the request prepared by begin.
func (l *epollLoop) send(c *econn, now time.Duration) {
	c.state = csBusy
	c.deadline = c.sent + l.t.timeout // from when the request began (its dial, if it needed one)
	l.busy++
	l.write(c, now)
}

func (l *epollLoop) write(c *econn, now time.Duration) {
	for c.wpos < len(c.tgt.req) {
		n, err := rawWrite(c.fd, c.tgt.req[c.wpos:])
		if err == unix.EAGAIN {
			// the socket buffer is full (a large body): wait until writable
			_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: int32(c.slot)})
			return
		}
		if err != nil {
			l.finish(c, now, failWrite)
			return
		}
		c.wpos += n
		if c.wpos == len(c.tgt.req) && n < len(c.tgt.req) {
			_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.slot)})
		}
	}
}

// read reads what the connection has and parses it.
func (l *epollLoop) read(c *econn) {
	n, err := rawRead(c.fd, c.buf[c.w:])
	now := l.t.since()
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		l.finish(c, now, c.readFailure(err == unix.ECONNRESET))
		return
	case n == 0:
		if c.p.eof() {
			l.finish(c, now, "")
		} else {
			l.finish(c, now, c.readFailure(false))
		}
		return
	}
	c.got = true
	c.w += n
	done, f := c.parse()
	switch {
	case f != "":
		l.finish(c, now, f)
	case done:
		l.finish(c, now, "")
	}
}

// finish records the request in flight on c and decides what c does next.
func (l *epollLoop) finish(c *econn, now time.Duration, f failure) {
	t := l.t
	c.record(t, l.acc, now, f)
	l.busy--
	l.last = max(l.last, now)
	keep := f == "" && c.p.keepAlive() && t.cfg.KeepAlive && c.r == c.w && c.wpos == len(c.tgt.req)
	if !keep {
		l.drop(c)
	}
	if l.pace != nil {
		if keep {
			c.state = csIdle
			l.idle = append(l.idle, c)
		}
		return
	}
	if !keep {
		return // the main loop dials the replacement
	}
	if now >= t.end || t.stop.Load() || !t.claim() {
		l.drop(c)
		return
	}
	c.begin(t, now, now)
	l.send(c, now)
}

// expire fails the requests and connects that passed their deadline.
func (l *epollLoop) expire(now time.Duration) {
	for _, c := range l.slots {
		if c == nil || now < c.deadline || (c.state != csBusy && c.state != csConnecting) {
			continue
		}
		if c.state == csConnecting {
			l.connectDone(c, now, unix.ETIMEDOUT)
			continue
		}
		l.finish(c, now, failTimeout)
	}
}

// drop closes a connection and frees its slot.
func (l *epollLoop) drop(c *econn) {
	if c.fd < 0 {
		return
	}
	_ = unix.Close(c.fd) // also removes it from the epoll set
	c.fd = -1
	l.slots[c.slot] = nil
	l.free = append(l.free, c.slot)
	l.nconns--
	if c.state == csConnecting {
		l.connecting--
	}
	c.state = 0
	if len(l.spares) < maxSpares {
		l.spares = append(l.spares, c) // its fields stay readable until reused: callers record after drop
	}
}

// maxSpares bounds the closed connections an event loop keeps for reuse.
const maxSpares = 256

// spare returns a connection to dial with: a closed one for reuse, read
// buffer included (keep-alive off opens one per request), or a new one.
// A dropped connection is reused only by the next dial, after its caller
// has recorded what it carried.
func (l *epollLoop) spare() *econn {
	if n := len(l.spares); n > 0 {
		c := l.spares[n-1]
		l.spares = l.spares[:n-1]
		buf := c.buf
		*c = econn{fd: -1}
		c.buf = buf
		return c
	}
	return &econn{fd: -1}
}

func (l *epollLoop) removeIdle(c *econn) {
	for i, x := range l.idle {
		if x == c {
			l.idle[i] = l.idle[len(l.idle)-1]
			l.idle = l.idle[:len(l.idle)-1]
			return
		}
	}
}

func (l *epollLoop) closeAll() {
	for _, c := range l.slots {
		if c != nil {
			l.drop(c)
		}
	}
	l.idle = nil
}

// epollWait waits up to timeout, with nanosecond resolution where the
// kernel has epoll_pwait2 (Linux 5.11) and millisecond resolution, rounded
// up, where it does not.
func epollWait(ep int, events []unix.EpollEvent, timeout time.Duration) (int, error) {
	// First without blocking, as a raw system call: under load events are
	// usually waiting, and a call that cannot block need not tell the Go
	// scheduler it may (which costs the handoff and keeps sysmon polling).
	r, e := epollLook(ep, events)
	if e != 0 || r > 0 || timeout <= 0 {
		if e != 0 {
			return 0, e
		}
		return r, nil
	}
	if !noPwait2.Load() {
		ts := unix.NsecToTimespec(int64(timeout))
		r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(&events[0])),
			uintptr(len(events)), uintptr(unsafe.Pointer(&ts)), 0, 0)
		if e == 0 {
			return int(r), nil
		}
		if e != unix.ENOSYS {
			return 0, e
		}
		noPwait2.Store(true)
	}
	return unix.EpollWait(ep, events, int((timeout+time.Millisecond-1)/time.Millisecond))
}

// noPwait2 is set once epoll_pwait2 answered ENOSYS.
var noPwait2 atomic.Bool

// parkedWait waits for an event loop's epoll instance in the Go
// scheduler's own poller rather than in a blocking epoll_wait. A
// goroutine blocked in a system call keeps its P until sysmon takes it
// back, which takes up to 10–20 ms once sysmon has backed off; with every
// P held by an event loop's wait (one loop per P), nothing else in the
// process runs or even sees its network events in that time: the progress
// display, the fault watcher, signal handling, and in tests the server
// under measurement, whose replies then arrive late for a reason that is
// the generator's. A parked goroutine holds no P. The Go poller's timers
// have millisecond resolution: a wait that may end a little late (for a
// timeout check) parks whole; a wait until a send is due parks only when
// it is long, and for parkSlack less than asked: the rest of the wait,
// down to the due time, is an epoll_pwait2 with nanosecond resolution.
type parkedWait struct {
	ep int
	f  *os.File        // ep, registered with the Go poller
	rc syscall.RawConn // nil: the poller did not take ep; waits block
	// look, bound once, and the wait's state it writes: a function made
	// for each wait would escape into RawConn.Read and be allocated on
	// every wait.
	look   func(fd uintptr) bool
	events []unix.EpollEvent
	n      int
	errno  syscall.Errno
}

const (
	// parkAbove: an event loop's wait until a send is due parks when
	// this long or longer (an open loop's waits between sends below
	// 500 req/s per loop).
	parkAbove = 2 * time.Millisecond
	// parkSlack is how much earlier than the due send a parked wait
	// ends: the Go poller's timer resolution.
	parkSlack = time.Millisecond
)

func newParkedWait() (*parkedWait, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that os.NewFile registers it with the Go poller;
	// epoll_wait itself ignores the flag.
	if err := unix.SetNonblock(ep, true); err != nil {
		_ = unix.Close(ep)
		return nil, err
	}
	f := os.NewFile(uintptr(ep), "epoll")
	p := &parkedWait{ep: ep, f: f}
	p.look = p.poll
	// Deadlines work only on a file the Go poller took; where it did not
	// (a kernel that refuses a nested epoll), waits block in epoll_wait.
	if f.SetReadDeadline(time.Time{}) == nil {
		if p.rc, err = f.SyscallConn(); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return p, nil
}

// wait returns the ready events, parking until there are some or until
// timeout has passed; it returns 0 events only after a look found none.
func (p *parkedWait) wait(events []unix.EpollEvent, timeout time.Duration) (int, error) {
	if p.rc == nil {
		return epollWait(p.ep, events, timeout)
	}
	p.events = events
	// First without arming the deadline (a timer): under load events are
	// usually waiting.
	if !p.poll(uintptr(p.ep)) {
		if err := p.f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return 0, err
		}
		// look is called once before the first park (Read clears a
		// wake-up left from before), and after each wake-up: the poller
		// is edge-triggered and may wake without an event left.
		err := p.rc.Read(p.look)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Read returns at an expired deadline without looking, and an
			// event may have come with the timer: look once more.
			p.poll(uintptr(p.ep))
		} else if err != nil {
			return 0, err
		}
	}
	if p.errno != 0 {
		return 0, p.errno
	}
	return p.n, nil
}

// poll is one non-blocking epoll_wait on fd into p.events; it reports
// whether it found events or failed.
func (p *parkedWait) poll(fd uintptr) bool {
	p.n, p.errno = epollLook(int(fd), p.events)
	return p.errno != 0 || p.n > 0
}

// epollLook is one non-blocking look at epoll instance ep: a raw system
// call, since it cannot block. It is epoll_pwait with no signal mask,
// which is epoll_wait, but exists on every Linux architecture (arm64 has
// no epoll_wait).
func epollLook(ep int, events []unix.EpollEvent) (int, syscall.Errno) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(r), e
}

func (p *parkedWait) close() { _ = p.f.Close() }

// rawRead and rawWrite are read(2) and write(2) on a non-blocking socket:
// they never block, so they are raw system calls, without the scheduler
// hand-off a blocking call needs.
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
