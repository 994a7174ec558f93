package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/progress"
	"github.com/clusterbench/clusterbench/bench/runner"
)

// TestProgressModes: which display --progress and -q give on an output
// that is not a terminal, seen through what it writes: auto is plain (the
// lines, no control characters), tty draws a live line anyway, none and -q
// alone write nothing, and -q with an explicit --progress keeps it.
func TestProgressModes(t *testing.T) {
	plan := progress.Plan{Servers: 1, Levels: 1, Trials: 1, Duration: time.Second}
	for _, c := range []struct {
		args  []string
		quiet bool
		want  string // "" nothing, "plain", "tty"
	}{
		{nil, false, "plain"},
		{[]string{"--progress=auto"}, false, "plain"},
		{[]string{"--progress=plain"}, false, "plain"},
		{[]string{"--progress=tty"}, false, "tty"},
		{[]string{"--progress=none"}, false, ""},
		{nil, true, ""},
		{[]string{"--progress=plain"}, true, "plain"},
		{[]string{"--progress=tty"}, true, "tty"},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var p progressFlag
		addProgressFlag(fs, &p)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if err := p.check(fs); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		r := &runner.Runner{}
		stop := p.attach(r, &stderr, c.quiet)
		if r.Events != nil {
			r.Events(progress.Event{Kind: progress.RunStarts, Name: "s", Plan: plan})
			r.Events(progress.Event{Kind: progress.ServerStarts, Server: "a"})
		}
		if r.Progress != nil {
			_, _ = r.Progress.Write([]byte("s: starting a\n"))
		}
		if r.Events != nil {
			r.Events(progress.Event{Kind: progress.RunEnds})
		}
		stop()
		got := stderr.String()
		var mode string
		switch {
		case got == "":
		case got == "s: starting a\n":
			mode = "plain"
		case strings.Contains(got, "\r") && strings.Contains(got, "s: starting a\n") && strings.Contains(got, "s: a (1/1) starting"):
			mode = "tty"
		default:
			mode = "unexpected"
		}
		if mode != c.want {
			t.Errorf("%v, quiet %v: wrote %q (%s), want %s", c.args, c.quiet, got, mode, c.want)
		}
	}
}

// TestProgressBadMode: an unknown --progress is a usage error naming the
// modes, for run and load, before anything is measured.
func TestProgressBadMode(t *testing.T) {
	dir := t.TempDir()
	sc := writeScenario(t, dir, "good", e2eScenario)
	for _, args := range [][]string{
		{"run", sc, "--out", filepath.Join(dir, "runs"), "--progress", "fancy"},
		{"load", "http://127.0.0.1:1/", "--out", filepath.Join(dir, "runs"), "--progress=fancy"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), &stdout, &stderr, args)
		if code != ExitUsage || !strings.Contains(stderr.String(), `--progress: progress mode "fancy" (allowed: auto, plain, tty, none)`) {
			t.Errorf("%v: exit %d, stderr %q; want %d and the modes", args, code, stderr.String(), ExitUsage)
		}
	}
}

// TestRunProgressInALog runs the binary with stderr on a pipe, as in CI:
// the default progress writes each trial's line there, and -q writes none.
func TestRunProgressInALog(t *testing.T) {
	t.Parallel() // runs of their own: their own processes, servers and ports
	dir := t.TempDir()
	sc := writeScenario(t, dir, "e2e", strings.NewReplacer("concurrency: [1, 4]", "concurrency: [2]").Replace(e2eScenario))
	for _, quiet := range []bool{false, true} {
		args := []string{"run", sc, "--out", filepath.Join(dir, "runs"), "--servers", "single"}
		if quiet {
			args = append(args, "-q")
		}
		cmd, stdout, stderr := clusterbench(t, dir, args...)
		if code := exitCodeOf(t, cmd.Run()); code != 0 {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
		lines := strings.Count(stderr.String(), "trial 1/1")
		if strings.ContainsAny(stderr.String(), "\r\x1b") {
			t.Errorf("%v: control characters in a log:\n%q", args, stderr)
		}
		if quiet && stderr.Len() != 0 || !quiet && lines != 1 {
			t.Errorf("%v: stderr has %d trial lines, want %d:\n%s", args, lines, map[bool]int{false: 1, true: 0}[quiet], stderr)
		}
	}
}
