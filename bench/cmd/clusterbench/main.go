// Command clusterbench serves the systems under test and drives them: it
// runs scenarios, prints and writes reports, compares runs and gates CI on
// performance regressions.
//
// Each subcommand lives in its own file as run<Name>(ctx, stdout, stderr,
// args) error, so tests call it directly. Only main turns errors into exit
// codes: 0 ok, 1 a regression or failed threshold, 2 usage error, 3 the
// measurement itself failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Exit codes of the binary (DESIGN.md).
const (
	ExitOK          = 0
	ExitRegression  = 1
	ExitUsage       = 2
	ExitMeasurement = 3
)

type command struct {
	run     func(ctx context.Context, stdout, stderr io.Writer, args []string) error
	summary string
}

func commands() map[string]command {
	return map[string]command{
		"serve":   {runServe, "serve the HTTP API in one model: single, pool or prefork"},
		"run":     {runRun, "run scenarios against servers and report throughput, latency and per-worker tables"},
		"load":    {runLoad, "load-test a server you run, from its URL (no scenario file)"},
		"report":  {runReport, "render the tables of a saved run again"},
		"calc":    {runCalc, "distribute calculation tasks to workers: inline, goroutine or process pool"},
		"ab":      {runAB, "A/B regression gate: interleaved trials of two server command lines"},
		"compare": {runCompare, "compare two saved runs or a run against a baseline"},
		"check":   {runCheck, "the regression gate as CI runs it: ab against a build of a git revision"},
		"merge":   {runMerge, "merge the run directories of the shards of one run (run/load --shard) into one"},
		"k8s":     {runK8s, "run a load split across N pods: print the Kubernetes Indexed Job (k8s job)"},
	}
}

func main() {
	os.Exit(Main(context.Background(), os.Stdout, os.Stderr, os.Args[1:]))
}

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, stdout, stderr io.Writer, args []string) int {
	cmds := commands()
	switch {
	case len(args) == 0:
		usage(stderr, cmds)
		return ExitUsage
	case args[0] == "-h" || args[0] == "--help" || (args[0] == "help" && len(args) == 1):
		usage(stdout, cmds)
		return ExitOK
	case args[0] == "help":
		args = []string{args[1], "--help"} // help CMD is CMD --help
	case args[0] == "--version" || args[0] == "version":
		fmt.Fprintln(stdout, version(debug.ReadBuildInfo()))
		return ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "clusterbench: unknown command %q (allowed: %s, help, version)\n", args[0], strings.Join(names(cmds), ", "))
		return ExitUsage
	}
	err := cmd.run(ctx, stdout, stderr, args[1:])
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	code := exitCode(err)
	if !errors.Is(err, errSilent) {
		fmt.Fprintf(stderr, "clusterbench %s: %v\n", args[0], err)
	}
	return code
}

func names(cmds map[string]command) []string {
	n := make([]string, 0, len(cmds))
	for k := range cmds {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: clusterbench COMMAND [flags]\n\nBenchmarks server concurrency models: serves them, drives them with load, reports and gates.\n\ncommands:")
	for _, n := range names(cmds) {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(w, "  %-8s %s\n", "help", "help CMD prints a command's help (as CMD --help)")
	fmt.Fprintf(w, "  %-8s %s\n", "version", "print the module version, commit and Go version (also --version)")
	fmt.Fprintln(w, "\nexit codes: 0 ok, 1 regression or failed threshold, 2 usage error, 3 measurement failed.")
	fmt.Fprintln(w, "Run 'clusterbench COMMAND --help' for a command's flags and examples.")
}
