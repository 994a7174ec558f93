package hlog

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// fixture is a run of two servers (one with a name that needs escaping),
// two trials each, with histograms of known contents and time stamps.
func fixture(t *testing.T) *results.Run {
	t.Helper()
	started := time.Date(2026, 11, 30, 19, 30, 0, 250e6, time.UTC)
	run := &results.Run{Scenario: results.ScenarioInfo{Name: "fx"}, Started: started}
	for _, server := range []string{"single", "node cluster, rr/2%"} {
		for trial := 1; trial <= 2; trial++ {
			h := metrics.NewLatencyHistogram()
			for i := 1; i <= 5000; i++ {
				h.RecordValue(int64(time.Duration(i*trial) * 3 * time.Microsecond))
			}
			begin := started.Add(time.Duration(trial) * 2 * time.Second)
			h.SetStartTimeMs(begin.UnixMilli())
			h.SetEndTimeMs(begin.Add(1500 * time.Millisecond).UnixMilli())
			run.Trials = append(run.Trials, results.Trial{Server: server, Level: 64, Trial: trial, DurationS: 1.5, Histogram: h})
		}
	}
	return run
}

// strip returns run's trials without histograms, as summary.json holds them.
func strip(run *results.Run) *results.Run {
	c := *run
	c.Trials = append([]results.Trial(nil), run.Trials...)
	for i := range c.Trials {
		c.Trials[i].Histogram = nil
	}
	return &c
}

func TestRoundTrip(t *testing.T) {
	run := fixture(t)
	var buf bytes.Buffer
	if err := Write(&buf, run); err != nil {
		t.Fatal(err)
	}
	for _, tr := range run.Trials {
		if tr.Histogram.Tag() != "" {
			t.Errorf("Write changed the caller's histogram: tag %q", tr.Histogram.Tag())
		}
	}
	back := strip(run)
	if err := Read(bytes.NewReader(buf.Bytes()), "h.hlog", back); err != nil {
		t.Fatal(err)
	}
	qs := []float64{1, 50, 90, 99, 99.9, 99.99, 100}
	for i, tr := range back.Trials {
		want := run.Trials[i].Histogram
		if tr.Histogram == nil {
			t.Fatalf("trial %d: no histogram read back", i)
		}
		if !tr.Histogram.Equals(want) {
			t.Errorf("trial %s/%d: histogram differs after the round trip", tr.Server, tr.Trial)
		}
		got, exp := Percentiles(tr.Histogram, qs), Percentiles(want, qs)
		for j := range qs {
			if got[j] != exp[j] {
				t.Errorf("trial %s/%d p%v: %v, want %v", tr.Server, tr.Trial, qs[j], got[j], exp[j])
			}
		}
		if tr.Histogram.StartTimeMs() != want.StartTimeMs() || tr.Histogram.EndTimeMs() != want.EndTimeMs() {
			t.Errorf("trial %d: span %d..%d, want %d..%d", i, tr.Histogram.StartTimeMs(), tr.Histogram.EndTimeMs(), want.StartTimeMs(), want.EndTimeMs())
		}
	}
}

// TestLibraryReads: hdrhistogram-go's own log reader (as
// HistogramLogAnalyzer's format) reads every interval with its tag.
func TestLibraryReads(t *testing.T) {
	run := fixture(t)
	var buf bytes.Buffer
	if err := Write(&buf, run); err != nil {
		t.Fatal(err)
	}
	r := hdrhistogram.NewHistogramLogReader(&buf)
	var n int
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		want := run.Trials[n]
		if h.Tag() != Tag(want.Server, want.Level, want.Trial) || h.TotalCount() != want.Histogram.TotalCount() || h.Max() != want.Histogram.Max() {
			t.Errorf("interval %d: tag %q count %d max %d; want %q %d %d", n, h.Tag(), h.TotalCount(), h.Max(),
				Tag(want.Server, want.Level, want.Trial), want.Histogram.TotalCount(), want.Histogram.Max())
		}
		n++
	}
	if n != len(run.Trials) {
		t.Errorf("the library read %d intervals, want %d", n, len(run.Trials))
	}
}

func TestTag(t *testing.T) {
	if got, want := Tag("node cluster, rr/2%", 64, 1), "node%20cluster%2C%20rr%2F2%25/64/1"; got != want {
		t.Errorf("Tag = %q, want %q", got, want)
	}
	for _, server := range []string{"single", "node cluster, rr/2%", "prefork-rr", "ü", ""} {
		tag := Tag(server, 1000, 3)
		if strings.ContainsAny(tag, ", \t\n") {
			t.Errorf("Tag(%q) = %q holds a comma or white space", server, tag)
		}
		s, l, n, err := ParseTag(tag)
		if server == "" {
			if err == nil {
				t.Errorf("ParseTag(%q) accepted an empty server", tag)
			}
			continue
		}
		if err != nil || s != server || l != 1000 || n != 3 {
			t.Errorf("ParseTag(Tag(%q)) = %q %d %d %v", server, s, l, n, err)
		}
	}
	for _, bad := range []string{"", "a", "a/1", "a/x/1", "a/1/-2", "a%4/1/1", "a%zz/1/1"} {
		if _, _, _, err := ParseTag(bad); err == nil {
			t.Errorf("ParseTag(%q): no error", bad)
		}
	}
}

func TestReadCorrupt(t *testing.T) {
	run := fixture(t)
	var buf bytes.Buffer
	if err := Write(&buf, run); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	first := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "Tag=") {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatalf("no interval line in\n%s", buf.String())
	}
	edit := func(f func(string) string) string {
		c := append([]string(nil), lines...)
		c[first] = f(c[first])
		return strings.Join(c, "\n")
	}
	cases := map[string]string{
		"payload":     edit(func(l string) string { return l[:len(l)-10] + "@@@@" }),
		"no tag":      edit(func(l string) string { _, rest, _ := strings.Cut(l, ","); return rest }),
		"bad tag":     edit(func(l string) string { return strings.Replace(l, "Tag=single/", "Tag=single/x", 1) }),
		"fields":      edit(func(l string) string { return strings.Replace(l, ",", ",,", 2) }),
		"other trial": edit(func(l string) string { return strings.Replace(l, "Tag=single/64/1", "Tag=single/64/9", 1) }),
		"start":       edit(func(l string) string { tag, rest, _ := strings.Cut(l, ","); return tag + ",x" + rest }),
		"base time":   strings.Replace(buf.String(), "#[BaseTime: ", "#[BaseTime: x", 1),
		"count":       strings.Replace(buf.String(), "#[Intervals: ", "#[Intervals: -", 1),
	}
	for name, text := range cases {
		err := Read(strings.NewReader(text), "runs/x/histograms.hlog", strip(run))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "runs/x/histograms.hlog:") {
			t.Errorf("%s: %v does not name the file and line", name, err)
		}
	}
	// the line number is the damaged line's
	err := Read(strings.NewReader(cases["payload"]), "h", strip(run))
	if want := "h:" + strconv.Itoa(first+1) + ":"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want it to start %q", err, want)
	}
	// a file cut at a line's end: fewer intervals than announced
	atLineEnd := strings.Join(lines[:first+1], "\n") + "\n"
	if err := Read(strings.NewReader(atLineEnd), "h", strip(run)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "ends early") {
		t.Errorf("a file cut after its first interval: %v, want ErrCorrupt saying it ends early", err)
	}
	// an interval twice
	twice := strings.Join(append(append([]string(nil), lines[:first+1]...), lines[first:]...), "\n")
	if err := Read(strings.NewReader(twice), "h", strip(run)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("an interval twice: %v, want ErrCorrupt saying so", err)
	}
	// a truncated file (cut inside an interval) is corrupt, not short
	cut := buf.String()[:len(buf.String())-40]
	if err := Read(strings.NewReader(cut), "h", strip(run)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated file: %v, want ErrCorrupt", err)
	}
}

func FuzzRead(f *testing.F) {
	run := &results.Run{Started: time.Unix(1764531000, 0)}
	h := metrics.NewLatencyHistogram()
	h.RecordValue(12345)
	run.Trials = []results.Trial{{Server: "s", Level: 1, Trial: 1, Histogram: h}}
	var buf bytes.Buffer
	if err := Write(&buf, run); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.String())
	f.Add("Tag=s/1/1,0,1,0,HISTFAAAA\n")
	f.Add("#[BaseTime: \n")
	f.Fuzz(func(t *testing.T, text string) {
		r := strip(run)
		if err := Read(strings.NewReader(text), "f", r); err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
	})
}
