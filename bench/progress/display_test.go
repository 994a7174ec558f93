package progress

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
)

// fakeTerm records each Write as one frame, with the fake time it came at,
// and signals wrote (when set) after each.
type fakeTerm struct {
	mu     sync.Mutex
	clk    *fakeClock
	frames []string
	raw    bytes.Buffer
	wrote  chan struct{} // buffered; a signal pending stands for any number of Writes
}

func (f *fakeTerm) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frames = append(f.frames, fmt.Sprintf("%5s %s", f.clk.since(), strconv.Quote(string(p))))
	f.raw.Write(p)
	if f.wrote != nil {
		select {
		case f.wrote <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// count is the number of frames so far.
func (f *fakeTerm) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.frames)
}

func (f *fakeTerm) golden() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []byte(strings.Join(f.frames, "\n") + "\n")
}

type fakeClock struct {
	mu  sync.Mutex
	t0  time.Time
	now time.Time
}

func newClock() *fakeClock {
	t0 := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
	return &fakeClock{t0: t0, now: t0}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) since() time.Duration { return c.Now().Sub(c.t0) }

// fakeLive is a running count the test sets.
type fakeLive struct{ requests, errors int64 }

func (l *fakeLive) Count() (int64, int64) { return l.requests, l.errors }

// script plays a run of two servers (the second fails to start) × one
// level × a 2s warm-up and two 12s trials, against d: events and the
// runner's permanent lines as Run sends them, and a Tick each second in
// which the server answers 1000 requests (one of them an error, in trial 2).
func script(d *Display, clk *fakeClock) {
	plan := Plan{Servers: 3, Levels: 1, Trials: 2, Warmup: 2 * time.Second, Duration: 12 * time.Second}
	live := &fakeLive{}
	line := func(s string) { _, _ = fmt.Fprintln(d, s) }
	run := func(secs int, errors bool) {
		for range secs {
			clk.advance(time.Second)
			live.requests += 1000
			if errors {
				live.errors++
			}
			d.Tick()
		}
	}
	wait := func(d time.Duration) { clk.advance(d) }
	trials := func(server string) {
		d.Event(Event{Kind: PhaseStarts, Label: "concurrency 64 warm-up", Warmup: true, Live: live})
		run(2, false)
		for k := 1; k <= 2; k++ {
			*live = fakeLive{}
			d.Event(Event{Kind: PhaseStarts, Label: fmt.Sprintf("concurrency 64 trial %d/2", k), Live: live})
			run(12, k == 2)
			line(fmt.Sprintf("hello: %-8s c %3d  trial %d/2  %6.0f req/s", server, 64, k, float64(live.requests)/12))
			d.Event(Event{Kind: PhaseEnds, Rate: float64(live.requests) / 12})
		}
		*live = fakeLive{}
	}

	line("hello: pinning: servers on CPU 0, load generator on 1")
	d.Event(Event{Kind: RunStarts, Name: "hello", Plan: plan})
	d.Event(Event{Kind: ServerStarts, Server: "single", ServerN: 0})
	line("hello: starting single")
	wait(1500 * time.Millisecond)
	d.Tick()
	wait(500 * time.Millisecond)
	trials("single")
	wait(time.Second)
	d.Event(Event{Kind: ServerEnds, ServerN: 0})
	d.Event(Event{Kind: ServerStarts, Server: "broken", ServerN: 1})
	line("hello: starting broken")
	wait(time.Second)
	line("hello: server broken: exit status 1")
	d.Event(Event{Kind: ServerEnds, ServerN: 1})
	d.Event(Event{Kind: ServerStarts, Server: "prefork", ServerN: 2})
	line("hello: starting prefork")
	wait(3 * time.Second)
	d.Tick()
	trials("prefork")
	wait(time.Second)
	d.Event(Event{Kind: ServerEnds, ServerN: 2})
	d.Event(Event{Kind: RunEnds})
	wait(time.Second)
	line("report: results/runs/x/report.md") // after the run's end: no live line
	d.Tick()
}

// TestTTYFrames: the live line of a whole run, frame by frame: redrawn in
// place at each event and tick, cleared around each permanent line and
// drawn again after it, with the ETA of the run (after the failed server,
// from the average overhead of the two servers done), and cleared at the
// end.
func TestTTYFrames(t *testing.T) {
	clk := newClock()
	term := &fakeTerm{clk: clk}
	d := New(term, Options{Mode: TTY, Now: clk.Now})
	script(d, clk)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "tty.golden", term.golden())
	// Every live line fits 80 columns less one.
	for _, f := range term.frames {
		q := f[strings.IndexByte(f, '"'):]
		s, err := strconv.Unquote(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range strings.Split(s, "\r") {
			if n := utf8.RuneCountInString(strings.TrimSuffix(part, clearToEOL)); n > DefaultWidth-1 && !strings.Contains(part, "\n") {
				t.Errorf("live line of %d columns, want ≤ %d: %q", n, DefaultWidth-1, part)
			}
		}
	}
}

// TestTTYWidth: a narrow terminal gets the live line cut to its width less
// one column, as read at each frame.
func TestTTYWidth(t *testing.T) {
	clk := newClock()
	term := &fakeTerm{clk: clk}
	width := 40
	d := New(term, Options{Mode: TTY, Now: clk.Now, Width: func() int { return width }})
	d.Event(Event{Kind: RunStarts, Name: "a-scenario-with-a-long-name", Plan: Plan{Servers: 1, Levels: 1, Trials: 1, Duration: 5 * time.Second}})
	d.Event(Event{Kind: ServerStarts, Server: "prefork-roundrobin"})
	live := &fakeLive{requests: 4999, errors: 1}
	clk.advance(time.Second)
	d.Event(Event{Kind: PhaseStarts, Label: "rate 5000 trial 1/1", Live: live})
	clk.advance(time.Second)
	d.Tick()
	width = 12 // the window was narrowed
	d.Tick()
	width = 0 // unknown: DefaultWidth
	d.Tick()
	golden.File(t, "tty-width.golden", term.golden())
	// frames: run, server, trial starts and a tick at 40 columns, a tick at 12, one at the default
	for i, want := range []int{39, 39, 39, 39, 11, 79} {
		_, frame, _ := strings.Cut(term.frames[i], " \"")
		s, _ := strconv.Unquote(`"` + frame)
		n := utf8.RuneCountInString(strings.TrimSuffix(strings.TrimPrefix(s, "\r"), clearToEOL))
		if n > want || i >= 3 && n != want { // the ticks' lines are long enough to be cut
			t.Errorf("frame %d: %d columns, want ≤ %d (= for a tick): %q", i, n, want, s)
		}
	}
}

// TestPlain: in plain mode the permanent lines pass as they are, and a
// status line comes whenever 10s have passed without output while the
// run goes on; never a control character.
func TestPlain(t *testing.T) {
	clk := newClock()
	term := &fakeTerm{clk: clk}
	d := New(term, Options{Mode: Plain, Now: clk.Now})
	script(d, clk)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "plain.golden", term.golden())
	if strings.ContainsAny(term.raw.String(), "\r\x1b") {
		t.Errorf("plain output has control characters:\n%q", term.raw.String())
	}
	status := strings.Count(term.raw.String(), " ETA ")
	// two 12s trials per server: one status line in each, 10s after the
	// permanent line before it
	if status != 4 {
		t.Errorf("%d status lines, want 4 (one in each 12s trial):\n%s", status, term.raw.String())
	}
}

// TestNone: the none mode writes nothing, whatever happens.
func TestNone(t *testing.T) {
	clk := newClock()
	term := &fakeTerm{clk: clk}
	d := New(term, Options{Mode: None, Now: clk.Now})
	d.Start()
	script(d, clk)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if len(term.frames) != 0 {
		t.Errorf("none mode wrote %d times:\n%s", len(term.frames), term.golden())
	}
}

// TestStartRedraws: Start's goroutine redraws on its own, and Close stops
// it and clears the line.
func TestStartRedraws(t *testing.T) {
	clk := newClock()
	term := &fakeTerm{clk: clk}
	d := New(term, Options{Mode: TTY, Now: clk.Now, Refresh: time.Millisecond})
	d.Event(Event{Kind: RunStarts, Name: "s", Plan: Plan{Servers: 1, Levels: 1, Trials: 1, Duration: time.Second}})
	term.wrote = make(chan struct{}, 1)
	d.Start()
	timeout := time.After(30 * time.Second) // a bound for a stuck goroutine, not a timing assertion
	for term.count() < 2 {
		select {
		case <-term.wrote:
		case <-timeout:
			t.Fatalf("Start drew %d frames in 30s, want ≥ 2 (a tick every 1ms)", term.count())
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	term.mu.Lock()
	n := len(term.frames)
	last := term.frames[n-1]
	term.mu.Unlock()
	if !strings.HasSuffix(last, strconv.Quote(carriageReturn+clearToEOL)) {
		t.Errorf("%d frames, the last %s: want ticks drawn by Start, then the line cleared by Close", n, last)
	}
	d.Tick() // the goroutine is gone; a Tick of the caller's still draws (the run is on)
	term.mu.Lock()
	defer term.mu.Unlock()
	if len(term.frames) != n+1 {
		t.Errorf("a Tick after Close wrote %d frames, want 1", len(term.frames)-n)
	}
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		flag     string
		terminal bool
		want     Mode
	}{
		{FlagAuto, true, TTY}, {FlagAuto, false, Plain}, {FlagPlain, true, Plain}, {FlagTTY, false, TTY},
		{FlagNone, true, None}, {FlagNone, false, None},
	} {
		got, err := Choose(c.flag, c.terminal)
		if err != nil || got != c.want {
			t.Errorf("Choose(%q, terminal %v) = %v, %v; want %v", c.flag, c.terminal, got, err, c.want)
		}
	}
	if _, err := Choose("fancy", true); err == nil || !strings.Contains(err.Error(), "auto, plain, tty, none") {
		t.Errorf("Choose(fancy): %v, want an error listing the modes", err)
	}
}

// invocation plays `run hello calc-mix` against d: two runs announced by
// Expect, each one server × one 12s trial, the second with two calc
// batches (1000 tasks × 2 trials, 100 tasks × 1 trial) after its server;
// a Tick each second.
func invocation(d *Display, clk *fakeClock) {
	hello := Plan{Servers: 1, Levels: 1, Trials: 1, Duration: 12 * time.Second}
	mix := hello
	mix.Calc = []CalcPlan{{Trials: 2, Tasks: 1000}, {Trials: 1, Tasks: 100}}
	d.Expect(hello, mix)
	live := &fakeLive{}
	line := func(s string) { _, _ = fmt.Fprintln(d, s) }
	tick := func(secs int, count bool) {
		for range secs {
			clk.advance(time.Second)
			if count {
				live.requests += 1000
			}
			d.Tick()
		}
	}
	server := func(name string) {
		d.Event(Event{Kind: ServerStarts, Server: "single"})
		line(name + ": starting single")
		tick(1, false)
		*live = fakeLive{}
		d.Event(Event{Kind: PhaseStarts, Label: "concurrency 64 trial 1/1", Live: live})
		tick(12, true)
		line(name + ": single concurrency 64 trial 1/1 1000 req/s")
		d.Event(Event{Kind: PhaseEnds, Rate: 1000})
		tick(1, false)
		d.Event(Event{Kind: ServerEnds})
	}
	calc := func(batch, trial, trials, secs, tasks int) {
		d.Event(Event{Kind: PhaseStarts, Calc: true, CalcN: batch, Trial: trial, Label: fmt.Sprintf("calc b%d trial %d/%d", batch, trial, trials)})
		tick(secs, false)
		line(fmt.Sprintf("calc-mix: calc b%d trial %d/%d %.0f tasks/s", batch, trial, trials, float64(tasks)/float64(secs)))
		d.Event(Event{Kind: PhaseEnds, Calc: true, CalcN: batch, Rate: float64(tasks) / float64(secs)})
	}

	d.Event(Event{Kind: RunStarts, Name: "hello", Plan: hello})
	server("hello")
	d.Event(Event{Kind: RunEnds})
	line("report: results/runs/1/report.md")
	clk.advance(time.Second) // saving and printing the first run

	d.Event(Event{Kind: RunStarts, Name: "calc-mix", Plan: mix})
	server("calc-mix")
	line("calc-mix: calc b0: starting 2 goroutine worker(s)")
	tick(1, false)
	calc(0, 1, 2, 12, 1000) // 12ms a task: 12s for b0's next trial, 1.2s guessed for b1's
	calc(1, 1, 1, 2, 100)
	calc(0, 2, 2, 12, 1000)
	d.Event(Event{Kind: RunEnds})
	line("report: results/runs/2/report.md")
}

// TestInvocationFrames: over the runs of one invocation the line says
// which run it shows, the elapsed time runs on from the first, the ETA
// covers the runs to come, and the calc trials keep the line (TTY) and
// the status lines (plain) going until the last of them; until a calc
// trial has run, their time is marked unknown ("+calc").
func TestInvocationFrames(t *testing.T) {
	for _, c := range []struct {
		mode   Mode
		golden string
	}{{TTY, "tty-invocation.golden"}, {Plain, "plain-invocation.golden"}} {
		clk := newClock()
		term := &fakeTerm{clk: clk}
		d := New(term, Options{Mode: c.mode, Now: clk.Now})
		invocation(d, clk)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		golden.File(t, c.golden, term.golden())
		out := term.raw.String()
		if c.mode == Plain {
			// a status line 10s after the last permanent line in each
			// 12s phase (the two load trials, the two long calc trials)
			for _, want := range []string{"hello (1/2): single concurrency 64 trial 1/1  0:10/", "calc-mix (2/2): single concurrency 64 trial 1/1  0:25/",
				"calc-mix (2/2): calc b0 trial 1/2  0:39/", "calc-mix (2/2): calc b0 trial 2/2  0:54/"} {
				if !strings.Contains(out, want) {
					t.Errorf("plain: no status line %q in:\n%s", want, out)
				}
			}
			continue
		}
		// the first frame: 12s + 12s of load, the calc unknown
		if !strings.Contains(out, "hello (1/2):  0:00/0:24+ ETA 0:24+calc") {
			t.Errorf("tty: first frame does not estimate both runs with the calc unknown:\n%s", out)
		}
		// b0's second trial begins 12s before the end, as estimated from its first
		if !strings.Contains(out, "calc-mix (2/2): calc b0 trial 2/2  0:44/0:56 ETA 0:12") {
			t.Errorf("tty: b0's second trial not estimated from its first:\n%s", out)
		}
	}
}
