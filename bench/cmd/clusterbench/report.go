package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/report"
)

type reportOptions struct {
	path    string
	formats []string
}

func parseReport(stderr io.Writer, args []string) (reportOptions, error) {
	var o reportOptions
	var format string
	fs := pflag.NewFlagSet("report", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: clusterbench report RUN_DIR|summary.json [--format %s]\n\n", strings.Join(report.Formats, ","))
		fmt.Fprintln(stderr, "Renders a saved run (results/runs/<UTC time>-<scenario>/) again. Formats:")
		fmt.Fprintln(stderr, "  table    terminal tables (default)\n  md       Markdown, as report.md\n  csv      summary.csv\n  workers  workers.csv\n  json     summary.json")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&format, "format", "table", "comma-separated output formats: "+strings.Join(report.Formats, ", "))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return o, err
		}
		return o, usageError("%v", err)
	}
	if fs.NArg() != 1 {
		return o, usageError("want one run directory or summary.json, got %d arguments (usage: clusterbench report RUN_DIR|summary.json [--format table,md,csv,workers,json])", fs.NArg())
	}
	o.path = fs.Arg(0)
	var err error
	if o.formats, err = report.ParseFormats(format); err != nil {
		return o, usageError("%v", err)
	}
	return o, nil
}

// runReport renders a saved run in each requested format, one after the
// other on stdout, separated by a blank line. A path that does not exist is
// a usage error (exit 2); a file that is not a valid run is exit 3.
func runReport(_ context.Context, stdout, stderr io.Writer, args []string) error {
	o, err := parseReport(stderr, args)
	if err != nil {
		return err
	}
	if _, err := os.Stat(o.path); errors.Is(err, fs.ErrNotExist) {
		return usageError("%s: no such run directory or file", o.path)
	}
	run, err := report.ReadRun(o.path)
	if err != nil {
		return measurementError(err)
	}
	for i, f := range o.formats {
		rep, err := report.For(f, run)
		if err != nil {
			return usageError("%v", err)
		}
		if i > 0 {
			if _, err := io.WriteString(stdout, "\n"); err != nil {
				return err
			}
		}
		if err := rep(stdout); err != nil {
			return err
		}
	}
	return nil
}
