package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/progress"
)

// cmdHelp is what `clusterbench CMD --help` prints, besides the flags.
type cmdHelp struct {
	Usage    string   // the synopsis, after "usage: "
	About    string   // a paragraph; newlines are kept
	Examples []string // command lines, each with an optional "  # comment"
	Exits    []string // the exit codes this command uses, one line each
}

// Exit code lines shared by the commands' help.
const (
	exitOKLine          = "0  done"
	exitRegressionLine  = "1  a regression or a failed threshold"
	exitUsageLine       = "2  usage error: a bad flag, argument or scenario file (nothing was measured)"
	exitMeasurementLine = "3  the measurement failed: a server did not start, results could not be read or written"
)

// progressUsage is the --progress flag's text (run, load, ab); the
// interval comes from bench/progress, so that the text cannot drift from it.
var progressUsage = "progress on stderr: auto (tty on a terminal, else plain), tty (a live line: server, level, trial, " +
	"elapsed/total, ETA, req/s and errors so far, redrawn each second), plain (the progress lines, and a status " +
	"line after " + shortDuration(progress.PlainEvery) + " without output, for logs), none; -q without --progress means none"

// newFlags returns a subcommand's flag set. pflag prints nothing itself:
// parseFlags prints the help on stdout and turns errors into usage errors.
func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args. -h or --help prints the help to stdout and
// returns pflag.ErrHelp (exit 0); a bad flag is a usage error (exit 2)
// that names it and points at --help.
func parseFlags(fs *pflag.FlagSet, h cmdHelp, stdout io.Writer, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pflag.ErrHelp):
		writeHelp(stdout, fs, h)
		return err
	}
	return usageError("%v (see 'clusterbench %s --help')", err, fs.Name())
}

// writeHelp writes the synopsis, the paragraph, the flags in pflag's
// layout, the examples and the exit codes.
func writeHelp(w io.Writer, fs *pflag.FlagSet, h cmdHelp) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", h.Usage, strings.TrimSpace(h.About))
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nflags:\n%s", fs.FlagUsagesWrapped(100))
	}
	if len(h.Examples) > 0 {
		fmt.Fprintln(w, "\nexamples:")
		for _, e := range h.Examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	if len(h.Exits) > 0 {
		fmt.Fprintln(w, "\nexit codes:")
		for _, e := range h.Exits {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// version describes this binary from its build information: the module
// version, the commit and whether the tree was modified, the Go version.
func version(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "clusterbench (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	out := "clusterbench " + v
	if rev != "" {
		out += " commit " + rev
		if modified == "true" {
			out += " (modified)"
		}
	}
	return out + " " + bi.GoVersion
}
