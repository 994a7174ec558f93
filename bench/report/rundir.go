package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"

	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/results"
)

// DefaultRunsDir is where run directories go, relative to the repository
// root (git-ignored).
const DefaultRunsDir = "results/runs"

// Files of a run directory.
const (
	SummaryJSON = results.FileName // "summary.json"
	SummaryFile = "summary.csv"
	WorkersFile = "workers.csv"
	ReportFile  = "report.md"
)

// MaxRunFile bounds the size of a summary.json that ReadRun will read.
const MaxRunFile = 256 << 20

// RunDirName is the directory name of a run: its UTC start time and the
// scenario, e.g. "20261125T193000Z-hello".
func RunDirName(run *results.Run) string {
	name := run.Scenario.Name
	if !safeName.MatchString(name) {
		name = "run"
	}
	return run.Started.UTC().Format("20060102T150405Z") + "-" + name
}

var safeName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// WriteRun writes summary.json, summary.csv, trials.csv, workers.csv,
// report.md, report.html (charts, bench/htmlreport) and histograms.hlog
// (every trial's latency distribution, bench/hlog) of run (calc.csv when
// it has calc batches, timeline.csv when its trials recorded timelines)
// into a new directory under parent (created if missing) and returns
// its path, parent/RunDirName(run), with "-2", "-3"... appended when that
// name is taken. The files are written and synced in a temporary directory
// beside it, which is then renamed into place: the run directory appears
// whole or not at all, and a failure leaves nothing behind.
func WriteRun(parent string, run *results.Run) (dir string, err error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	name := RunDirName(run)
	tmp, err := os.MkdirTemp(parent, ".tmp-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	files := []struct {
		name string
		rep  Reporter
	}{
		{SummaryJSON, JSON(run)},
		{SummaryFile, SummaryCSV(run)},
		{TrialsFile, TrialsCSV(run)},
		{WorkersFile, WorkersCSV(run)},
		{ReportFile, Markdown(run)},
		{HTMLFile, HTML(run)},
	}
	if HasHistograms(run) { // a hand-made run may have none
		files = append(files, struct {
			name string
			rep  Reporter
		}{hlog.FileName, func(w io.Writer) error { return hlog.Write(w, run) }})
	}
	if HasTimeline(run) {
		files = append(files, struct {
			name string
			rep  Reporter
		}{TimelineFile, TimelineCSV(run)})
	}
	if len(run.Calc) > 0 {
		files = append(files, struct {
			name string
			rep  Reporter
		}{CalcFile, CalcCSV(run)})
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(tmp, f.name), f.rep); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return "", fmt.Errorf("report: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return "", err
	}
	for i := 1; i <= 100; i++ {
		dir = filepath.Join(parent, name)
		if i > 1 {
			dir += "-" + strconv.Itoa(i)
		}
		err = os.Rename(tmp, dir)
		if err == nil {
			return dir, syncDir(parent)
		}
		if !errors.Is(err, syscall.EEXIST) && !errors.Is(err, syscall.ENOTEMPTY) {
			return "", fmt.Errorf("report: %w", err)
		}
	}
	return "", fmt.Errorf("report: %s: 100 run directories of that name exist already", filepath.Join(parent, name))
}

// CheckDir makes sure runs can be written under parent: it creates parent
// if it is missing, then creates and removes a probe file in it. Call it
// before measuring, so that a bad output directory costs nothing.
func CheckDir(parent string) error {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("%s: cannot create the output directory: %w", parent, err)
	}
	f, err := os.CreateTemp(parent, ".probe-")
	if err != nil {
		return fmt.Errorf("%s: cannot write in the output directory: %w", parent, err)
	}
	name := f.Name()
	err = errors.Join(f.Close(), os.Remove(name))
	if err != nil {
		return fmt.Errorf("%s: %w", parent, err)
	}
	return nil
}

// FallbackDir is where SaveRun writes a run that could not be written
// where it was asked to be: clusterbench-runs in the system's temporary
// directory ($TMPDIR).
func FallbackDir() string { return filepath.Join(os.TempDir(), "clusterbench-runs") }

// SaveRun writes the run under parent (WriteRun). When that fails (a full
// disk, permissions changed during the run), it writes the run under
// FallbackDir instead and returns that directory with the first error, so
// that nothing measured is lost; dir is "" only when both failed. err is
// nil only when the run is where it was asked to be.
func SaveRun(parent string, run *results.Run) (dir string, err error) {
	dir, err = WriteRun(parent, run)
	if err == nil {
		return dir, nil
	}
	fb, fbErr := WriteRun(FallbackDir(), run)
	if fbErr != nil {
		return "", fmt.Errorf("%w; the fallback %s failed too: %w", err, FallbackDir(), fbErr)
	}
	return fb, err
}

func writeFile(path string, rep Reporter) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := rep(f); err != nil {
		f.Close()
		return fmt.Errorf("report: write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("report: sync %s: %w", dir, err)
	}
	return nil
}

// ReadRun loads a saved run from a run directory or a summary.json path,
// checks it (DecodeRun), and attaches the trials' latency histograms from
// the histograms.hlog beside it. A directory written before histograms
// were saved has none: its trials' Histogram stays nil. A damaged
// histograms.hlog returns the run (without histograms) together with an
// error wrapping hlog.ErrCorrupt that names the file and line, so a
// caller may still use the rest.
func ReadRun(path string) (*results.Run, error) {
	run, file, err := readSummary(path)
	if err != nil {
		return nil, err
	}
	hf, err := os.Open(filepath.Join(filepath.Dir(file), hlog.FileName))
	if errors.Is(err, os.ErrNotExist) {
		return run, nil
	}
	if err != nil {
		return run, fmt.Errorf("%w: %w", hlog.ErrCorrupt, err)
	}
	defer hf.Close()
	if err := hlog.Read(hf, hf.Name(), run); err != nil {
		for i := range run.Trials {
			run.Trials[i].Histogram = nil
		}
		if !errors.Is(err, hlog.ErrCorrupt) {
			err = fmt.Errorf("%w: %w", hlog.ErrCorrupt, err)
		}
		return run, err
	}
	return run, nil
}

// HasHistograms says whether run's trials carry their latency
// histograms (false for a run directory written before they were saved).
func HasHistograms(run *results.Run) bool {
	for _, t := range run.Trials {
		if t.Histogram != nil {
			return true
		}
	}
	return false
}

func readSummary(path string) (*results.Run, string, error) {
	file := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file = filepath.Join(path, SummaryJSON)
	}
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && file != path {
			return nil, file, fmt.Errorf("%s: not a run directory: it has no %s", path, SummaryJSON)
		}
		return nil, file, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRunFile+1))
	if err != nil {
		return nil, file, fmt.Errorf("%s: %w", file, err)
	}
	run, err := DecodeRun(file, data)
	return run, file, err
}

// DecodeRun parses and checks a summary.json; name labels its errors.
// It refuses a file that is not JSON, has trailing data, has a schema
// this build does not read, or whose trials and summary rows name
// servers, levels or trial numbers that cannot be (see Check).
func DecodeRun(name string, data []byte) (*results.Run, error) {
	if len(data) > MaxRunFile {
		return nil, fmt.Errorf("%s: larger than %d bytes; not a summary.json", name, MaxRunFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var run results.Run
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("%s: not a clusterbench summary.json: %w", name, jsonErr(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: not a clusterbench summary.json: data after the JSON document", name)
	}
	if err := Check(&run); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &run, nil
}

// jsonErr adds the line of a syntax or type error.
func jsonErr(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	return fmt.Errorf("line %d: %w", bytes.Count(data[:off], []byte("\n"))+1, err)
}

// Check validates what every reader of a run relies on: the schema, a
// scenario name, a load mode, and trials and summary rows that name a
// listed server, a level ≥ 1 and (trials) a trial number ≥ 1. It returns
// the first problem found.
func Check(run *results.Run) error {
	switch {
	case run.Schema == 0:
		return fmt.Errorf("no schema field (allowed: %d); not a clusterbench summary.json", results.Schema)
	case run.Schema < 0 || run.Schema > results.Schema:
		return fmt.Errorf("schema %d is not supported by this build (allowed: 1..%d); a newer clusterbench wrote it", run.Schema, results.Schema)
	case run.Scenario.Name == "":
		return errors.New("scenario.name is empty")
	case run.Load.Mode != "closed" && run.Load.Mode != "open":
		return fmt.Errorf("load.mode %q is not a load mode (allowed: closed, open)", run.Load.Mode)
	}
	servers := map[string]bool{}
	for i, s := range run.Servers {
		if s.Name == "" || servers[s.Name] {
			return fmt.Errorf("servers[%d].name %q is empty or repeated", i, s.Name)
		}
		servers[s.Name] = true
	}
	for i, t := range run.Trials {
		switch {
		case !servers[t.Server]:
			return fmt.Errorf("trials[%d].server %q is not in servers", i, t.Server)
		case t.Level < 1:
			return fmt.Errorf("trials[%d].level %d is out of range (allowed: ≥ 1)", i, t.Level)
		case t.Trial < 1:
			return fmt.Errorf("trials[%d].trial %d is out of range (allowed: ≥ 1)", i, t.Trial)
		}
	}
	for i, s := range run.Summary {
		switch {
		case !servers[s.Server]:
			return fmt.Errorf("summary[%d].server %q is not in servers", i, s.Server)
		case s.Level < 1:
			return fmt.Errorf("summary[%d].level %d is out of range (allowed: ≥ 1)", i, s.Level)
		}
	}
	return nil
}
