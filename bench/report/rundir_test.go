package report

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteRunReadRun(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "results", "runs")
	run := closedFixture()
	dir, err := WriteRun(parent, run)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(parent, "20261125T193000Z-fixture"); dir != want {
		t.Errorf("run dir = %s, want %s", dir, want)
	}
	for _, f := range []struct {
		name string
		rep  Reporter
	}{{SummaryJSON, JSON(run)}, {SummaryFile, SummaryCSV(run)}, {WorkersFile, WorkersCSV(run)}, {ReportFile, Markdown(run)}} {
		got, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := f.rep(&want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from its renderer's output", f.name)
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, SummaryJSON)} {
		back, err := ReadRun(p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, run) {
			t.Errorf("ReadRun(%s) differs from what was written", p)
		}
	}
	// The same start time again: a second directory, not an overwrite.
	dir2, err := WriteRun(parent, run)
	if err != nil {
		t.Fatal(err)
	}
	if dir2 != dir+"-2" {
		t.Errorf("second run dir = %s, want %s-2", dir2, dir)
	}
	assertNoTemp(t, parent)
}

func assertNoTemp(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary directory left behind: %s", e.Name())
		}
	}
}

// TestWriteRunAllOrNothing: a run that cannot be written leaves nothing.
func TestWriteRunAllOrNothing(t *testing.T) {
	parent := t.TempDir()
	run := closedFixture()
	run.Summary[1].P99Ms.Hi = math.NaN()
	_, err := WriteRun(parent, run)
	if err == nil || !strings.Contains(err.Error(), "run.summary[1].p99_ms.hi is not a finite number") {
		t.Fatalf("WriteRun error = %v, want the NaN's path", err)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 0 {
		t.Errorf("a failed WriteRun left %d entries in %s", len(entries), parent)
	}
}

func TestWriteRunUnwritableParent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteRun(file, closedFixture()); err == nil {
		t.Error("WriteRun under a file succeeded")
	}
}

func TestRunDirName(t *testing.T) {
	run := closedFixture()
	run.Scenario.Name = "../etc"
	if got := RunDirName(run); got != "20261125T193000Z-run" {
		t.Errorf("RunDirName with an unsafe name = %q", got)
	}
}

func TestReadRunErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	valid := `{"schema":1,"scenario":{"name":"x"},"load":{"mode":"closed"},"servers":[{"name":"a"}]`
	tests := []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing"), "no such file or directory"},
		{empty, empty + ": not a run directory: it has no summary.json"},
		{write("text.json", "hello"), "text.json: not a clusterbench summary.json: line 1: invalid character 'h'"},
		{write("multi.json", "{\n\"schema\": 1,\n\"trials\": 5}"), "multi.json: not a clusterbench summary.json: line 3: json: cannot unmarshal number into Go struct field Run.trials"},
		{write("trailing.json", valid+"} {}"), "trailing.json: not a clusterbench summary.json: data after the JSON document"},
		{write("noschema.json", "{}"), "noschema.json: no schema field (allowed: 1); not a clusterbench summary.json"},
		{write("future.json", `{"schema":2}`), "future.json: schema 2 is not supported by this build (allowed: 1..1); a newer clusterbench wrote it"},
		{write("noname.json", `{"schema":1,"load":{"mode":"closed"}}`), "noname.json: scenario.name is empty"},
		{write("mode.json", `{"schema":1,"scenario":{"name":"x"},"load":{"mode":"ramp"}}`), `mode.json: load.mode "ramp" is not a load mode (allowed: closed, open)`},
		{write("dupserver.json", `{"schema":1,"scenario":{"name":"x"},"load":{"mode":"open"},"servers":[{"name":"a"},{"name":"a"}]}`), `dupserver.json: servers[1].name "a" is empty or repeated`},
		{write("trialserver.json", valid+`,"trials":[{"server":"b","level":1,"trial":1}]}`), `trialserver.json: trials[0].server "b" is not in servers`},
		{write("triallevel.json", valid+`,"trials":[{"server":"a","level":0,"trial":1}]}`), `triallevel.json: trials[0].level 0 is out of range (allowed: ≥ 1)`},
		{write("trialnum.json", valid+`,"trials":[{"server":"a","level":1,"trial":0}]}`), `trialnum.json: trials[0].trial 0 is out of range (allowed: ≥ 1)`},
		{write("sumserver.json", valid+`,"summary":[{"server":"z","level":1}]}`), `sumserver.json: summary[0].server "z" is not in servers`},
		{write("sumlevel.json", valid+`,"summary":[{"server":"a","level":-1}]}`), `sumlevel.json: summary[0].level -1 is out of range (allowed: ≥ 1)`},
	}
	for _, tt := range tests {
		_, err := ReadRun(tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadRun(%s) = %v, want an error containing %q", filepath.Base(tt.path), err, tt.want)
		}
	}
	if _, err := ReadRun(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error %v is not ErrNotExist", err)
	}
	if _, err := ReadRun(write("ok.json", valid+"}")); err != nil {
		t.Errorf("a minimal valid run was refused: %v", err)
	}
}

// FuzzDecodeRun: the reader never panics, and whatever it accepts renders
// in every format.
func FuzzDecodeRun(f *testing.F) {
	for _, name := range []string{"closed", "open"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name, SummaryJSON)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"schema":1,"scenario":{"name":"x"},"load":{"mode":"closed","levels":[1]},"servers":[{"name":"a"}],"summary":[{"server":"a","level":1,"workers":[{"id":"0","requests":-5}]}]}`))
	f.Add([]byte(`{"schema":1,"scenario":{"name":"x"},"load":{"mode":"open"},"servers":[{"name":"a"}],"trials":[{"server":"a","level":1,"trial":1,"latency":{"p99_ms":1e308}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := DecodeRun("f.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, format := range Formats {
			rep, err := For(format, run)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := rep(&b); err != nil {
				t.Fatalf("%s of an accepted run: %v", format, err)
			}
		}
	})
}

func TestJSONRefusesNonFinite(t *testing.T) {
	run := openFixture()
	run.Trials[0].StatusCodes = nil
	run.Trials[2].Workers[1].P99Ms = math.Inf(1)
	err := JSON(run)(&bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "run.trials[2].workers[1].p99_ms") {
		t.Errorf("JSON error = %v, want the Inf's path", err)
	}
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "new", "runs")
	if err := CheckDir(ok); err != nil {
		t.Errorf("CheckDir(%s): %v", ok, err)
	}
	if ents, _ := os.ReadDir(ok); len(ents) != 0 {
		t.Errorf("CheckDir left %d entries in %s", len(ents), ok)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(filepath.Join(file, "runs")); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("CheckDir under a file: %v, want an error naming %s", err, file)
	}
}

// TestSaveRunFallsBack: a run that cannot be written where asked is
// written whole under FallbackDir, and the error says why.
func TestSaveRunFallsBack(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run := closedFixture()
	dir, err := SaveRun(filepath.Join(file, "runs"), run)
	if err == nil || dir == "" || filepath.Dir(dir) != FallbackDir() || !strings.HasPrefix(FallbackDir(), tmp) {
		t.Fatalf("SaveRun = %q, %v: want a directory under %s and the error", dir, err, FallbackDir())
	}
	if back, err := ReadRun(dir); err != nil || !reflect.DeepEqual(back, run) {
		t.Errorf("the fallback run reads back as %v, %v", back, err)
	}
}

// TestSaveRunFullDisk: on a full filesystem (a 64 KiB tmpfs, mounted by
// the test when it may) the run directory is absent, not half-written, and
// the run is in the fallback directory.
func TestSaveRunFullDisk(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	fs := filepath.Join(tmp, "tiny")
	if err := os.Mkdir(fs, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", fs).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); TestSaveRunFallsBack covers the fallback with another write error", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", fs).Run() })
	parent := filepath.Join(fs, "runs")
	if err := CheckDir(parent); err != nil {
		t.Fatal(err)
	}
	// Fill it: the check passed, the run cannot fit.
	fill, err := os.Create(filepath.Join(fs, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := fill.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	fill.Close()
	run := closedFixture()
	dir, err := SaveRun(parent, run)
	if err == nil || !strings.Contains(err.Error(), "no space") || filepath.Dir(dir) != FallbackDir() {
		t.Fatalf("SaveRun = %q, %v: want the fallback and a no-space error", dir, err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("the full filesystem holds %d entries under %s, want none (whole or absent)", len(ents), parent)
	}
	if _, err := ReadRun(dir); err != nil {
		t.Errorf("fallback run: %v", err)
	}
}
