// Package golden compares what a test printed with a file in testdata/, and
// rewrites the file when the test binary runs with -update. It is for tests
// only; Check is safe to call from parallel tests that use distinct paths.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the -update flag of every test binary that imports this package.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Check compares got with the file at path; with -update it writes got there
// instead (creating the directory).
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// File is Check for testdata/name.
func File(t testing.TB, name string, got []byte) {
	t.Helper()
	Check(t, filepath.Join("testdata", name), got)
}

// Updating reports whether the test binary runs with -update, for tests that
// regenerate fixtures as well as golden files.
func Updating() bool { return *update }
