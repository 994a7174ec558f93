// Package progress shows how far a clusterbench run has got while it runs:
// which scenario (and which of the invocation's scenarios, see Expect),
// server, level and trial or calc batch trial, the time elapsed and the
// time left for the whole invocation (ETA, calc batches included), and the
// current trial's requests/s and errors so far.
//
// A Display takes a run's events (Event: bench/runner and bench/ab send
// them) and its permanent lines (it is an io.Writer) and draws them on
// one io.Writer in one of three modes:
//   - TTY: one live line, redrawn in place about once a second ("\r",
//     the text, clear to the end of the line), never wider than the
//     terminal; a permanent line clears it, is written, and the live line
//     is drawn again below it.
//   - Plain: the permanent lines, and one plain status line whenever the
//     output has been silent for PlainEvery during a run, so a CI log
//     never goes quiet for minutes.
//   - None: nothing at all.
//
// The renderer is written here rather than taken from a progress-bar
// library (vbauerster/mpb, schollz/progressbar): those draw bars from a
// goroutine of their own against the real clock and a real terminal, and
// have no plain mode for logs; here the whole state is a function of the
// events, an injected clock and Tick, so every frame is tested byte for
// byte, and nothing is added to go.mod.
//
// A Display is safe for concurrent use: the run's goroutine sends events
// and lines while Start's ticker goroutine (or a caller of Tick)
// redraws; each frame is one Write. Start and Close belong to its owner
// and are called from one goroutine.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Mode is how a Display draws.
type Mode int

// Modes.
const (
	None  Mode = iota // nothing
	Plain             // permanent lines and a status line every PlainEvery of silence
	TTY               // a live line redrawn in place
)

// Values of the --progress flag.
const (
	FlagAuto  = "auto" // TTY when the output is a terminal, else Plain
	FlagPlain = "plain"
	FlagTTY   = "tty"
	FlagNone  = "none"
)

// Flags lists the values of --progress.
var Flags = []string{FlagAuto, FlagPlain, FlagTTY, FlagNone}

// Choose resolves a --progress value; terminal says whether the output is
// a terminal (for auto).
func Choose(flag string, terminal bool) (Mode, error) {
	switch flag {
	case FlagAuto:
		if terminal {
			return TTY, nil
		}
		return Plain, nil
	case FlagPlain:
		return Plain, nil
	case FlagTTY:
		return TTY, nil
	case FlagNone:
		return None, nil
	}
	return None, fmt.Errorf("progress mode %q (allowed: %s)", flag, strings.Join(Flags, ", "))
}

// Defaults.
const (
	DefaultWidth = 80               // columns when the terminal's width is unknown
	Refresh      = time.Second      // Start's redraw interval
	PlainEvery   = 10 * time.Second // Plain: a status line after this long without output
)

// Escape sequences of the TTY mode.
const (
	carriageReturn = "\r"
	clearToEOL     = "\x1b[K"
)

// Options configure a Display. The zero value draws nothing (None).
type Options struct {
	Mode Mode
	// Width returns the terminal's columns, read for every frame; nil or
	// a result ≤ 0 means DefaultWidth.
	Width func() int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Refresh is Start's redraw interval; 0 means Refresh.
	Refresh time.Duration
}

// Display draws a run's progress on w. Create it with New.
type Display struct {
	w   io.Writer
	opt Options

	mu     sync.Mutex
	active bool // between RunStarts and RunEnds
	shown  bool // TTY: a live line is on the screen
	last   time.Time
	name   string
	plan   Plan
	began  time.Time
	pos    Position

	server      string
	serverBegan time.Time
	serverLoad  time.Duration // time in load phases of the busy server
	phase       string        // the label of the phase under way
	warmup      bool          // the phase under way is a warm-up
	phaseBegan  time.Time
	live        Counter
	calc        bool    // the phase under way is a calc trial
	calcN       int     // its batch
	trialRate   float64 // requests/s of the last finished trial

	// Expect: the plans of the invocation's runs and the index of the
	// one under way (-1 before the first); nil = each run stands alone.
	runs []Plan
	run  int
	// Carried from run to run of an invocation: the time outside load
	// phases and the number of the servers of the finished runs, and the
	// time and tasks of every calc trial so far.
	doneOverhead time.Duration
	doneServers  int
	calcTime     time.Duration
	calcTasks    int64

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a Display that draws on w.
func New(w io.Writer, opt Options) *Display {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Refresh <= 0 {
		opt.Refresh = Refresh
	}
	return &Display{w: w, opt: opt}
}

// Expect announces that the next len(plans) runs (each RunStarts …
// RunEnds) are one invocation with these plans, in this order: the line
// then says which of them is under way ("name (2/3):"), the elapsed time
// counts from the first one's start, and the total and the ETA cover them
// all (the runs to come estimated from what the earlier ones took). A
// RunStarts after the last of them starts afresh. Call it before the
// first RunStarts.
func (d *Display) Expect(plans ...Plan) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.runs, d.run = plans, -1
	d.doneOverhead, d.doneServers, d.calcTime, d.calcTasks, d.trialRate = 0, 0, 0, 0, 0
}

// Start redraws every Options.Refresh from a goroutine of its own until
// Close. It does nothing in the None mode.
func (d *Display) Start() {
	if d.opt.Mode == None || d.stop != nil {
		return
	}
	d.stop = make(chan struct{})
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(d.opt.Refresh)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				d.Tick()
			case <-d.stop:
				return
			}
		}
	}()
}

// Close stops Start's goroutine, waits for it and clears the live line.
func (d *Display) Close() error {
	if d.stop != nil {
		close(d.stop)
		d.wg.Wait()
		d.stop = nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.clear()
}

// Write writes permanent lines (whole lines, as the runner writes them):
// in TTY mode the live line is cleared first and drawn again after them.
func (d *Display) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opt.Mode == None {
		return len(p), nil
	}
	d.last = d.opt.Now()
	if d.opt.Mode == Plain {
		return d.w.Write(p)
	}
	var b strings.Builder
	if d.shown {
		b.WriteString(carriageReturn + clearToEOL)
	}
	b.Write(p)
	d.shown = false
	if d.active {
		b.WriteString(d.frame(d.last))
		d.shown = true
	}
	if _, err := io.WriteString(d.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Tick redraws the live line (TTY), or writes a status line when the
// output has been silent for PlainEvery (Plain). Start calls it every
// Options.Refresh.
func (d *Display) Tick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.active {
		return
	}
	now := d.opt.Now()
	switch d.opt.Mode {
	case TTY:
		d.draw(now)
	case Plain:
		if now.Sub(d.last) >= PlainEvery {
			d.last = now
			_, _ = io.WriteString(d.w, d.status(now)+"\n")
		}
	}
}

// Event takes a step of the run.
func (d *Display) Event(e Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opt.Mode == None {
		return
	}
	now := d.opt.Now()
	switch e.Kind {
	case RunStarts:
		if d.runs != nil && d.run+1 < len(d.runs) {
			d.run++
			if d.run > 0 { // the invocation goes on: carry what its earlier runs took
				d.doneOverhead += d.pos.Overhead
				d.doneServers += d.pos.ServersDone
			} else {
				d.began = now
			}
		} else {
			d.runs, d.run, d.began = nil, 0, now
			d.doneOverhead, d.doneServers, d.calcTime, d.calcTasks, d.trialRate = 0, 0, 0, 0, 0
		}
		d.active, d.name, d.plan, d.last = true, e.Name, e.Plan, now
		d.pos, d.server, d.phase, d.live, d.calc = Position{CalcRates: make([]float64, len(e.Plan.Calc))}, "", "", nil, false
	case ServerStarts:
		d.endPhase(now)
		d.server, d.serverBegan, d.serverLoad = e.Server, now, 0
		d.pos.ServerBusy, d.pos.Current = true, 0
		d.pos.Phase = d.plan.first(e.ServerN)
	case PhaseStarts:
		d.endPhase(now) // pos.Phase now indexes this phase: load phases run in the plan's order
		if e.Calc {
			d.pos.Phase = d.plan.calcPhase(e.CalcN, e.Trial) // a batch that failed leaves its trials undone
		}
		d.phase, d.warmup, d.live, d.phaseBegan = e.Label, e.Warmup, e.Live, now
		d.calc, d.calcN = e.Calc, e.CalcN
		d.pos.InPhase = true
	case PhaseEnds:
		switch {
		case e.Calc && e.Rate > 0 && d.calc && e.CalcN < len(d.plan.Calc):
			d.pos.CalcRates[e.CalcN] = e.Rate
			d.calcTime += now.Sub(d.phaseBegan)
			d.calcTasks += int64(d.plan.Calc[e.CalcN].Tasks)
		case e.Rate > 0 && !e.Calc:
			d.trialRate = e.Rate
		}
		d.endPhase(now)
		return // the next phase, or the server's end, follows at once
	case ServerEnds:
		d.endPhase(now)
		d.pos.ServersDone = e.ServerN + 1
		d.pos.Overhead += now.Sub(d.serverBegan) - d.serverLoad
		d.pos.ServerBusy, d.pos.Current = false, 0
		d.pos.Phase = d.plan.first(e.ServerN + 1) // a failed server's phases are skipped
		d.server = ""
		return // the next server, or the run's end, follows at once
	case RunEnds:
		d.endPhase(now)
		_ = d.clear()
		d.active = false
		return
	default:
		return
	}
	if d.opt.Mode == TTY {
		d.draw(now)
	}
}

// endPhase closes the load phase under way, if any.
func (d *Display) endPhase(now time.Time) {
	if !d.pos.InPhase {
		return
	}
	d.serverLoad += now.Sub(d.phaseBegan)
	d.pos.InPhase = false
	d.pos.Phase++
	d.phase, d.calc = "", false
}

// clear removes the live line (TTY).
func (d *Display) clear() error {
	if !d.shown {
		return nil
	}
	d.shown = false
	_, err := io.WriteString(d.w, carriageReturn+clearToEOL)
	return err
}

// draw writes the live line in place (TTY).
func (d *Display) draw(now time.Time) {
	d.shown = true
	_, _ = io.WriteString(d.w, d.frame(now))
}

// frame is the live line at now: back to the start of the line, the
// status cut to the terminal's width less one column (writing the last
// column wraps on some terminals), clear the rest.
func (d *Display) frame(now time.Time) string {
	width := DefaultWidth
	if d.opt.Width != nil {
		if w := d.opt.Width(); w > 0 {
			width = w
		}
	}
	line := d.status(now)
	if n := max(width-1, 1); utf8.RuneCountInString(line) > n {
		// too wide: the scenario's name goes first (it is in the
		// permanent lines), then the end of the line
		line = truncate(strings.TrimSpace(strings.TrimPrefix(line, d.prefix()+":")), n)
	}
	return carriageReturn + line + clearToEOL
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// prefix names the run: the scenario, and which of the invocation's runs
// it is when Expect announced several.
func (d *Display) prefix() string {
	if len(d.runs) > 1 {
		return fmt.Sprintf("%s (%d/%d)", d.name, d.run+1, len(d.runs))
	}
	return d.name
}

// remaining estimates the time left of the run under way from pos, and of
// the invocation's runs after it from what the earlier ones took.
func (d *Display) remaining(pos Position) Estimate {
	if d.doneServers > 0 {
		pos.PerServer = d.doneOverhead / time.Duration(d.doneServers)
	}
	if d.calcTasks > 0 {
		pos.TaskTime = d.calcTime / time.Duration(d.calcTasks)
	}
	est := Remaining(d.plan, pos)
	if d.runs == nil {
		return est
	}
	next := Position{Rate: pos.Rate, TaskTime: pos.TaskTime, PerServer: pos.PerServer}
	if n := d.doneServers + pos.ServersDone; n > 0 {
		next.PerServer = (d.doneOverhead + pos.Overhead) / time.Duration(n)
	}
	for _, p := range d.runs[d.run+1:] {
		est = est.Plus(Remaining(p, next))
	}
	return est
}

// status is the one-line status at now: where the run is, the time
// elapsed and the estimated total and time left, and the running count
// of the phase under way.
func (d *Display) status(now time.Time) string {
	elapsed := now.Sub(d.began)
	pos := d.pos
	var requests, errs int64
	phaseElapsed := time.Duration(0)
	if pos.InPhase {
		phaseElapsed = now.Sub(d.phaseBegan)
		if d.live != nil {
			requests, errs = d.live.Count()
		}
		pos.PhaseElapsed, pos.PhaseRequests = phaseElapsed, requests
	}
	if pos.ServerBusy {
		pos.Current = now.Sub(d.serverBegan) - d.serverLoad - phaseElapsed
	}
	pos.Rate = d.trialRate
	current := 0.0
	if phaseElapsed > 0 {
		current = float64(requests) / phaseElapsed.Seconds()
	}
	if !d.warmup && !d.calc && current > 0 && phaseElapsed >= time.Second {
		pos.Rate = current // the trial under way, once it has run a second
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", d.prefix())
	if d.server != "" {
		b.WriteString(" " + d.server)
		if d.plan.Servers > 1 {
			fmt.Fprintf(&b, " (%d/%d)", pos.ServersDone+1, d.plan.Servers)
		}
	}
	switch {
	case pos.InPhase:
		fmt.Fprintf(&b, " %s", d.phase)
	case pos.ServerBusy && pos.Phase == d.plan.first(pos.ServersDone):
		b.WriteString(" starting")
	case pos.ServerBusy && pos.Phase >= d.plan.first(pos.ServersDone+1):
		b.WriteString(" stopping")
	case len(d.plan.Calc) > 0 && pos.Phase >= d.plan.loadPhases() && pos.Phase < d.plan.Phases():
		b.WriteString(" calc") // its workers starting
	}
	switch est := d.remaining(pos); {
	case !est.OK:
		fmt.Fprintf(&b, "  %s/? ETA ?", clock(elapsed))
	case est.CalcUnknown: // no calc trial has run: its time is not known yet
		fmt.Fprintf(&b, "  %s/%s+ ETA %s+calc", clock(elapsed), clock(elapsed+est.Left), clock(est.Left))
	default:
		fmt.Fprintf(&b, "  %s/%s ETA %s", clock(elapsed), clock(elapsed+est.Left), clock(est.Left))
	}
	if pos.InPhase && d.live != nil {
		fmt.Fprintf(&b, "  %.0f req/s  %d errors", current, errs)
	}
	return b.String()
}

// clock writes d as m:ss, or h:mm:ss from an hour, rounded to the second.
func clock(d time.Duration) string {
	if d >= 100*time.Hour*24 {
		return ">99d"
	}
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
