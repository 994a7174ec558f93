// Package hlog saves and reads the full latency distribution of every
// trial of a run: one file, histograms.hlog, in the HdrHistogram interval
// log format (version 1.3: a comment header, a StartTime and a BaseTime
// line, then one line per trial of a tag, its start offset and length in
// seconds, its max in milliseconds, and the histogram compressed and
// base64-encoded). HistogramLogAnalyzer and hdrhistogram-go's
// HistogramLogReader read it.
//
// Each trial's line is tagged Tag(server, level, trial); values are
// nanoseconds (the shape of metrics.NewLatencyHistogram), so a percentile
// read back is the one the run computed, to the histogram's precision.
//
// Read parses the file itself rather than through HistogramLogReader,
// which skips a malformed line without saying so: a damaged file is an
// error that names the file and the line (wrapping ErrCorrupt).
package hlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/bench/results"
)

// FileName is the name of the histogram log inside a run directory.
const FileName = "histograms.hlog"

// ErrCorrupt is wrapped by Read's errors about a file that is not a
// histogram log this package wrote.
var ErrCorrupt = errors.New("corrupt histogram log")

// intervalsFormat is the comment line that announces how many intervals
// follow, so that Read can tell a file cut at a line's end.
const intervalsFormat = "[Intervals: %d]"

// maxLine bounds a line of the log: a histogram of the trial shape
// compresses to a few KiB; a longer line is damage, not data.
const maxLine = 4 << 20

// Tag names a trial in the log: the server name percent-escaped (a tag
// may not hold a comma or white space), its level and trial number, e.g.
// "single/64/1".
func Tag(server string, level, trial int) string {
	return escape(server) + "/" + strconv.Itoa(level) + "/" + strconv.Itoa(trial)
}

// ParseTag splits a tag made by Tag.
func ParseTag(tag string) (server string, level, trial int, err error) {
	i := strings.LastIndexByte(tag, '/')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(tag[:i], '/')
	}
	if j <= 0 {
		return "", 0, 0, fmt.Errorf("tag %q: want server/level/trial", tag)
	}
	if server, err = unescape(tag[:j]); err != nil {
		return "", 0, 0, fmt.Errorf("tag %q: %w", tag, err)
	}
	level, err1 := strconv.Atoi(tag[j+1 : i])
	trial, err2 := strconv.Atoi(tag[i+1:])
	if err1 != nil || err2 != nil || level < 0 || trial < 0 {
		return "", 0, 0, fmt.Errorf("tag %q: level and trial must be whole numbers", tag)
	}
	return server, level, trial, nil
}

// escape percent-encodes every byte outside [A-Za-z0-9._~-].
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._~-", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("truncated %-escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad %%-escape %q", s[i:i+3])
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// Write writes the histograms of run's trials (those that have one) to w.
// Time stamps are seconds from the run's start, truncated to the second
// (the BaseTime line has a resolution of one second).
func Write(w io.Writer, run *results.Run) error {
	bw := bufio.NewWriter(w)
	lw := hdrhistogram.NewHistogramLogWriter(bw)
	base := run.Started.Unix() * 1000
	lw.SetBaseTime(base)
	if err := lw.OutputLogFormatVersion(); err != nil {
		return err
	}
	if err := lw.OutputComment(fmt.Sprintf("[clusterbench %s: one interval per trial, tagged server/level/trial; values in nanoseconds]", run.Scenario.Name)); err != nil {
		return err
	}
	n := 0
	for _, t := range run.Trials {
		if t.Histogram != nil {
			n++
		}
	}
	if err := lw.OutputComment(fmt.Sprintf(intervalsFormat, n)); err != nil {
		return err
	}
	if err := lw.OutputStartTime(base); err != nil {
		return err
	}
	if err := lw.OutputBaseTime(base); err != nil {
		return err
	}
	if err := lw.OutputLegend(); err != nil {
		return err
	}
	for i := range run.Trials {
		t := &run.Trials[i]
		if t.Histogram == nil {
			continue
		}
		// a copy carries the line's tag and time stamps: the caller's
		// histogram is left as it is
		h := hdrhistogram.Import(t.Histogram.Export())
		h.SetTag(Tag(t.Server, t.Level, t.Trial))
		h.SetStartTimeMs(t.Histogram.StartTimeMs())
		h.SetEndTimeMs(t.Histogram.EndTimeMs())
		if h.StartTimeMs() == 0 { // made without time stamps: span the trial's length from the base
			h.SetStartTimeMs(base)
			h.SetEndTimeMs(base + int64(math.Round(t.DurationS*1000)))
		}
		if err := lw.OutputIntervalHistogram(h); err != nil {
			return fmt.Errorf("histogram of %s: %w", h.Tag(), err)
		}
	}
	return bw.Flush()
}

// Read attaches the histograms in r to run's trials, matching tags to
// (server, level, trial). file names r in errors. A line that does not
// parse is an error naming file:line and wrapping ErrCorrupt; an
// interval whose trial is not in run is an error too (the log belongs to
// another run), and so is a trial that appears twice, or fewer intervals
// than the file's header announces (a file cut at a line's end). Trials
// without an interval keep a nil Histogram.
func Read(r io.Reader, file string, run *results.Run) error {
	type key struct {
		server       string
		level, trial int
	}
	index := make(map[key]*results.Trial, len(run.Trials))
	for i := range run.Trials {
		t := &run.Trials[i]
		index[key{t.Server, t.Level, t.Trial}] = t
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var base float64
	line, announced, read := 0, -1, 0
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %w: %s", file, line, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "" || strings.HasPrefix(text, `"StartTimestamp"`):
			continue
		case strings.HasPrefix(text, "#[BaseTime: "):
			f := strings.Fields(strings.TrimPrefix(text, "#[BaseTime: "))
			if len(f) == 0 {
				return corrupt("base time %q", text)
			}
			v, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "]"), 64)
			if err != nil {
				return corrupt("base time %q", text)
			}
			base = v
			continue
		case strings.HasPrefix(text, "#[Intervals: "):
			if _, err := fmt.Sscanf(text, "#"+intervalsFormat, &announced); err != nil || announced < 0 {
				return corrupt("interval count %q", text)
			}
			continue
		case strings.HasPrefix(text, "#"):
			continue
		}
		tag, rest, ok := strings.Cut(text, ",")
		if !ok || !strings.HasPrefix(tag, "Tag=") {
			return corrupt("an interval without a tag (want Tag=server/level/trial,start,length,max,histogram)")
		}
		server, level, trial, err := ParseTag(strings.TrimPrefix(tag, "Tag="))
		if err != nil {
			return corrupt("%v", err)
		}
		f := strings.Split(rest, ",")
		if len(f) != 4 {
			return corrupt("%d fields after the tag, want 4 (start, length, max, histogram)", len(f))
		}
		start, err1 := strconv.ParseFloat(f[0], 64)
		length, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil || length < 0 {
			return corrupt("start %q or length %q is not a number of seconds", f[0], f[1])
		}
		h, err := hdrhistogram.Decode([]byte(f[3]))
		if err != nil {
			return corrupt("histogram of %s: %v", tag, err)
		}
		t := index[key{server, level, trial}]
		if t == nil {
			return corrupt("%s is not a trial of this run", tag)
		}
		if t.Histogram != nil {
			return corrupt("%s appears twice", tag)
		}
		startMs := int64(math.Round((base + start) * 1000))
		h.SetStartTimeMs(startMs)
		h.SetEndTimeMs(startMs + int64(math.Round(length*1000)))
		h.SetTag(Tag(server, level, trial))
		t.Histogram = h
		read++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			line++
			return corrupt("a line longer than %d bytes", maxLine)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	if announced >= 0 && read != announced {
		line++
		return corrupt("the file ends early: %d intervals announced, %d read", announced, read)
	}
	return nil
}

// Percentiles returns h's values at the percentiles qs (0..100), in
// milliseconds; q = 100 is the maximum.
func Percentiles(h *hdrhistogram.Histogram, qs []float64) []float64 {
	out := make([]float64, len(qs))
	for i, q := range qs {
		v := h.ValueAtQuantile(q)
		if q >= 100 {
			v = h.Max()
		}
		out[i] = float64(v) / 1e6
	}
	return out
}
