package gate

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
)

// fixture is a report with one metric of each kind of verdict.
func fixture(t *testing.T) (Report, Labels) {
	t.Helper()
	ms := []Metric{
		{Def: def(t, CPU), Base: noisy(1, 10, 80, 0.01), Head: noisy(2, 10, 92, 0.01)},
		{Def: def(t, P50), Base: noisy(3, 10, 0.42, 0.02), Head: noisy(4, 10, 0.42, 0.02)},
		{Def: def(t, P99), Base: noisy(5, 10, 3.1, 0.3), Head: noisy(6, 10, 3.2, 0.3)},
		{Def: def(t, Throughput), Base: noisy(7, 10, 400, 0.001), HeadFailed: 10},
	}
	rep, err := Evaluate(ms, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := Labels{
		Title:  "ab scenarios/gate.yaml @ 400 req/s",
		Bench:  "Gate/scenario=gate/rate=400",
		Base:   "./base/clusterbench serve --model single",
		Head:   "bin/clusterbench serve --model single --burn 10us",
		Notes:  []string{"base and head ran on different machines (hostname a ≠ b): a weak comparison"},
		Config: [][2]string{{"scenario", "gate"}, {"level", "400"}},
	}
	return rep, l
}

// passing is a report that passes: one unchanged metric, one improved.
func passing(t *testing.T) (Report, Labels) {
	t.Helper()
	ms := []Metric{
		{Def: def(t, CPU), Base: noisy(11, 10, 80, 0.01), Head: noisy(12, 10, 80, 0.01)},
		{Def: def(t, Throughput), Base: noisy(13, 10, 4000, 0.01), Head: noisy(14, 10, 4600, 0.01)},
	}
	rep, err := Evaluate(ms, Options{Alpha: 0.05, Threshold: 0.03, ThresholdSet: true})
	if err != nil {
		t.Fatal(err)
	}
	return rep, Labels{Title: "compare a b"}
}

// undecided is a report that is inconclusive overall: CPU per request 8%
// worse but not significant (the trials advised are estimated), p50
// latency whose interval reaches past the threshold, p99 unchanged.
func undecided(t *testing.T) (Report, Labels) {
	t.Helper()
	ms := []Metric{
		{Def: def(t, CPU), Base: noisy(44, 10, 80, 0.05), Head: noisy(45, 10, 86.4, 0.05)},
		{Def: def(t, P50), Base: noisy(150, 10, 0.42, 0.04), Head: noisy(151, 10, 0.42, 0.04)},
		{Def: def(t, P99), Base: noisy(244, 10, 3.1, 0.02), Head: noisy(245, 10, 3.1, 0.02)},
	}
	rep, err := Evaluate(ms, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep, Labels{Title: "ab scenarios/gate.yaml @ 400 req/s", OnInconclusive: "exit status 0 all the same (--strict makes it 3)"}
}

func TestGolden(t *testing.T) {
	renderers := map[string]func(io.Writer, Report, Labels) error{
		"txt": WriteText, "md": WriteMarkdown, "benchfmt": WriteBenchfmt, "junit.xml": WriteJUnit, "annotations": WriteAnnotations,
	}
	reports := map[string]func(*testing.T) (Report, Labels){"mixed": fixture, "pass": passing, "inconclusive": undecided}
	for rname, mk := range reports {
		for ext, render := range renderers {
			t.Run(rname+"."+ext, func(t *testing.T) {
				rep, l := mk(t)
				var buf bytes.Buffer
				if err := render(&buf, rep, l); err != nil {
					t.Fatal(err)
				}
				golden.File(t, rname+"."+ext, buf.Bytes())
			})
		}
	}
}

func TestFixtureVerdicts(t *testing.T) {
	rep, _ := fixture(t)
	want := []Verdict{Regressed, NoChange, Inconclusive, Failed}
	for i, r := range rep.Results {
		if r.Verdict != want[i] {
			t.Errorf("%s: %v (%s), want %v", r.Name, r.Verdict, r.Reason, want[i])
		}
	}
	if rep.Verdict() != Regressed || !strings.HasPrefix(rep.Headline(), "FAIL") {
		t.Errorf("overall %v %q", rep.Verdict(), rep.Headline())
	}
	prep, _ := passing(t)
	if prep.Verdict() != Improved || !strings.HasPrefix(prep.Headline(), "PASS") {
		t.Errorf("passing overall %v %q", prep.Verdict(), prep.Headline())
	}
}

// The benchfmt output reads back through x/perf's reader with the
// direction of every unit, the arm config and every value.
func TestBenchfmtRoundTrip(t *testing.T) {
	rep, l := fixture(t)
	var buf bytes.Buffer
	if err := WriteBenchfmt(&buf, rep, l); err != nil {
		t.Fatal(err)
	}
	rd := benchfmt.NewReader(&buf, "gate.txt")
	count := map[string]int{}
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.Result:
			count[rec.GetConfig("arm")+" "+rec.Values[0].Unit]++
			if rec.GetConfig("scenario") != "gate" {
				t.Errorf("config scenario = %q", rec.GetConfig("scenario"))
			}
		case *benchfmt.SyntaxError:
			t.Fatalf("syntax error: %v", rec)
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	units := rd.Units()
	for _, r := range rep.Results {
		// The reader tidies units (cpu-sec/req stays, p50-latency-sec stays).
		if got := units.GetBetter(r.BenchUnit); got != int(r.Better) {
			t.Errorf("%s: better = %d, want %d", r.BenchUnit, got, r.Better)
		}
		if got := count["base "+r.BenchUnit]; got != len(r.Base) {
			t.Errorf("base %s: %d values, want %d", r.BenchUnit, got, len(r.Base))
		}
		if got := count["head "+r.BenchUnit]; got != len(r.Head) {
			t.Errorf("head %s: %d values, want %d", r.BenchUnit, got, len(r.Head))
		}
	}
	bad := l
	bad.Config = [][2]string{{"Bad Key", "x"}}
	if err := WriteBenchfmt(io.Discard, rep, bad); err == nil {
		t.Error("a config key benchfmt cannot read back was accepted")
	}
}

func TestJUnitParses(t *testing.T) {
	rep, l := fixture(t)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, rep, l); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 4 || doc.Fail != 1 || doc.Errors != 1 || doc.Skipped != 1 {
		t.Errorf("counts tests=%d failures=%d errors=%d skipped=%d", doc.Tests, doc.Fail, doc.Errors, doc.Skipped)
	}
}

func TestAnnotationsEscapeAndCap(t *testing.T) {
	if got := annotationEscape("a%b\nc\r"); got != "a%25b%0Ac%0D" {
		t.Errorf("escape = %q", got)
	}
	if got := annotationPropEscape("x: a,b"); got != "x%3A a%2Cb" {
		t.Errorf("prop escape = %q", got)
	}
	var ms []Metric
	for i := range 12 {
		ms = append(ms, Metric{Def: def(t, CPU), BaseFailed: i + 1, HeadFailed: 1})
	}
	rep, err := Evaluate(ms, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteAnnotations(&buf, rep, Labels{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != MaxAnnotations+1 || !strings.Contains(lines[MaxAnnotations], "2 more not shown") {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.md")
	if err := WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "old"); return err }); err != nil {
		t.Fatal(err)
	}
	boom := io.ErrUnexpectedEOF
	if err := WriteFile(path, func(w io.Writer) error { io.WriteString(w, "half"); return boom }); err == nil {
		t.Fatal("render error not returned")
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Errorf("failed write replaced the file: %q", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x"), func(io.Writer) error { return nil }); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

func TestAppendFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte("## earlier step output\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := AppendFile(path, write("gate\n")); err != nil {
		t.Fatal(err)
	}
	if err := AppendFile(path, func(w io.Writer) error { io.WriteString(w, "half"); return io.ErrUnexpectedEOF }); err == nil {
		t.Error("render error not returned")
	}
	if got, _ := os.ReadFile(path); string(got) != "## earlier step output\ngate\n" {
		t.Errorf("file = %q", got)
	}
}
