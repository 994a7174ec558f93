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
		if d := p.start(&stderr, c.quiet); d != nil {
			d.Event(progress.Event{Kind: progress.RunStarts, Name: "s", Plan: plan})
			d.Event(progress.Event{Kind: progress.ServerStarts, Server: "a"})
			_, _ = d.Write([]byte("s: starting a\n"))
			d.Event(progress.Event{Kind: progress.RunEnds})
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
		}
		got := stderr.String()
		var mode string
		switch {
		case got == "":
		case got == "s: starting a\n":
			mode = "plain"
		case strings.Contains(got, "\r") && strings.Contains(got, "s: starting a\n") && strings.Contains(got, "s: a starting"):
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
// modes, for run, load and ab, before anything is measured.
func TestProgressBadMode(t *testing.T) {
	dir := t.TempDir()
	sc := writeScenario(t, dir, "good", e2eScenario)
	for _, args := range [][]string{
		{"run", sc, "--out", filepath.Join(dir, "runs"), "--progress", "fancy"},
		{"load", "http://127.0.0.1:1/", "--out", filepath.Join(dir, "runs"), "--progress=fancy"},
		{"ab", sc, "--base", "true", "--head", "true", "--progress=fancy"},
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

// TestABLiveLine runs `clusterbench ab` with --progress=tty (its output a
// pipe, so the frames can be read): the live line goes through starting
// the servers, each warm-up and each slice with the ETA, and is cleared
// before the gate's table; no frame follows the clearing.
func TestABLiveLine(t *testing.T) {
	serve := "EXE serve --model single --addr {addr}"
	code, out := gateAB(t, "", "--base", serve, "--head", serve, "--trials", "2", "--warmup", "100ms", "--progress=tty")
	if code != 0 {
		t.Fatalf("exit %d:\n%q", code, out)
	}
	for _, want := range []string{
		"\rab: 4 servers starting  0:00/",
		"\rab: 4 servers warm-up: base 1/2  ", "\rab: 4 servers warm-up: head 2/2  ",
		"\rab: 4 servers round 1/1: base 1/2  ", "\rab: 4 servers round 1/1: head 2/2  ",
		" ETA ", " req/s  0 errors\x1b[K",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the output:\n%q", want, out)
		}
	}
	i := strings.LastIndex(out, "\r"+"\x1b[K")
	if i < 0 || strings.Contains(out[i+4:], "\r") {
		t.Errorf("the live line is not cleared at the end, or redrawn after:\n%q", out)
	}
}
