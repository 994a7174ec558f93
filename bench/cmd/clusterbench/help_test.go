package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
)

// TestHelp: every command's help goes to stdout with exit 0, by --help,
// -h and help CMD alike, and reads as its golden file: a synopsis, a
// paragraph, the flags, examples and the exit codes.
func TestHelp(t *testing.T) {
	for name := range commands() {
		t.Run(name, func(t *testing.T) {
			var first []byte
			for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
				var stdout, stderr bytes.Buffer
				if code := Main(context.Background(), &stdout, &stderr, args); code != ExitOK || stderr.Len() != 0 {
					t.Fatalf("%v: exit %d, stderr %q; want 0 and nothing on stderr", args, code, stderr.String())
				}
				if first == nil {
					first = stdout.Bytes()
				} else if !bytes.Equal(first, stdout.Bytes()) {
					t.Errorf("%v prints other help than %s --help", args, name)
				}
			}
			out := string(first)
			for _, part := range []string{"usage: clusterbench " + name, "\nflags:\n", "\nexamples:\n  clusterbench " + name, "\nexit codes:\n  0 "} {
				if !strings.Contains(out, part) {
					t.Errorf("%s --help lacks %q", name, part)
				}
			}
			golden.Check(t, "testdata/help-"+name+".golden", first)
		})
	}
}

// TestTopLevelHelp: help to stdout and exit 0 when asked for; with no
// command at all it is a usage error on stderr.
func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), &stdout, &stderr, args); code != ExitOK || !strings.Contains(stdout.String(), "commands:") || stderr.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and the command list on stdout", args, code, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), &stdout, &stderr, nil); code != ExitUsage || !strings.Contains(stderr.String(), "commands:") || stdout.Len() != 0 {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q; want 2 and the command list on stderr", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main(context.Background(), &stdout, &stderr, []string{"run", "--bogus"}); code != ExitUsage || stdout.Len() != 0 ||
		!strings.Contains(stderr.String(), "unknown flag: --bogus") || !strings.Contains(stderr.String(), "clusterbench run --help") {
		t.Errorf("run --bogus: exit %d, stdout %q, stderr %q; want 2, the flag named and --help pointed at on stderr", code, stdout.String(), stderr.String())
	}
}

func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := version(bi, true), "clusterbench v1.2.3 commit abc123 (modified) go1.99"; got != want {
		t.Errorf("version = %q, want %q", got, want)
	}
	bi.Settings, bi.Main.Version = nil, ""
	if got, want := version(bi, true), "clusterbench (devel) go1.99"; got != want {
		t.Errorf("version without VCS = %q, want %q", got, want)
	}
	// The binary's own: what the build recorded.
	real, ok := debug.ReadBuildInfo()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), &stdout, &stderr, args); code != ExitOK || stdout.String() != version(real, ok)+"\n" {
			t.Errorf("%v: exit %d, %q; want 0, %q", args, code, stdout.String(), version(real, ok))
		}
	}
	if ok && !strings.Contains(version(real, ok), real.GoVersion) {
		t.Errorf("version %q does not name the Go version %s", version(real, ok), real.GoVersion)
	}
}
