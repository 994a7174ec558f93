package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
)

// The fixture runs and their per-format golden files live with the report
// package; they are hand-made, not measured.
const fixtureDir = "../../report/testdata"

func runMain(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), &out, &errb, args)
	return out.String(), errb.String(), code
}

// TestReportFormats: `clusterbench report` prints exactly what the report
// package's golden files hold, for a run directory and a summary.json.
func TestReportFormats(t *testing.T) {
	for _, fixture := range []string{"closed", "open"} {
		for _, format := range []string{"table", "md", "csv", "workers", "json"} {
			for _, path := range []string{filepath.Join(fixtureDir, fixture), filepath.Join(fixtureDir, fixture, "summary.json")} {
				out, errs, code := runMain("report", path, "--format", format)
				if code != 0 {
					t.Fatalf("report %s --format %s: exit %d: %s", path, format, code, errs)
				}
				want, err := os.ReadFile(filepath.Join(fixtureDir, fixture+"."+format+".golden"))
				if err != nil {
					t.Fatal(err)
				}
				if out != string(want) {
					t.Errorf("report %s --format %s differs from %s.%s.golden:\n%s", path, format, fixture, format, out)
				}
			}
		}
	}
}

func TestReportDefaultIsTable(t *testing.T) {
	out, _, code := runMain("report", filepath.Join(fixtureDir, "open"))
	want, _ := os.ReadFile(filepath.Join(fixtureDir, "open.table.golden"))
	if code != 0 || out != string(want) {
		t.Errorf("report without --format: exit %d, output differs from open.table.golden", code)
	}
}

func TestReportSeveralFormats(t *testing.T) {
	out, errs, code := runMain("report", filepath.Join(fixtureDir, "open"), "--format", "csv,table")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden.Check(t, "testdata/report-open-csv-table.golden", []byte(out))
}

// TestReportErrors: every bad invocation exits non-zero with a message
// saying what is wrong (golden), and prints nothing on stdout.
func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "summary.json")
	if err := os.WriteFile(bad, []byte(`{"schema": 7}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no-args", []string{"report"}, 2},
		{"two-args", []string{"report", "a", "b"}, 2},
		{"bad-format", []string{"report", filepath.Join(fixtureDir, "open"), "--format", "table,pdf"}, 2},
		{"bad-flag", []string{"report", "--colour", "x"}, 2},
		{"missing-path", []string{"report", "does/not/exist"}, 2},
		{"not-a-run-dir", []string{"report", "testdata"}, 3},
		{"future-schema", []string{"report", bad}, 3},
	}
	var all strings.Builder
	for _, tt := range tests {
		out, errs, code := runMain(tt.args...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tt.name, code, tt.code, errs)
		}
		if out != "" {
			t.Errorf("%s: printed on stdout: %q", tt.name, out)
		}
		errs = strings.ReplaceAll(errs, dir, "$TMP")
		all.WriteString("== " + tt.name + "\n" + errs)
	}
	golden.Check(t, "testdata/report-errors.golden", []byte(all.String()))
}

func TestReportHelp(t *testing.T) {
	out, errs, code := runMain("report", "--help")
	if code != 0 || !strings.Contains(out, "usage: clusterbench report RUN_DIR|summary.json") || errs != "" {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
