package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
)

type reportOptions struct {
	path        string
	formats     []string
	percentiles []float64 // from --percentiles: print these, recomputed from histograms.hlog
}

var reportHelp = cmdHelp{
	Usage: "clusterbench report RUN_DIR|summary.json [flags]",
	About: `Renders a saved run (results/runs/<UTC time>-<scenario>/) again. Formats:
  table    terminal tables (default)
  md       Markdown, as report.md
  csv      summary.csv (one row per server × level)
  trials   trials.csv (one row per trial)
  workers  workers.csv (one row per server × level × worker)
  json     summary.json
  html     report.html: the charts (throughput, latency percentile spectra, server CPU,
           worker shares, calc batches) and the tables in one self-contained page;
           save it (> report.html) and open it in a browser
Every percentile can be recomputed from the run's full latency
distributions (histograms.hlog, HdrHistogram log format):
--percentiles 50,99,99.99 prints those for each trial and, per server and
level, for all its measured trials together. A run directory written
before histograms were saved has only its summary's percentiles.`,
	Examples: []string{
		"clusterbench report results/runs/20261130T170000Z-hello",
		"clusterbench report results/runs/20261130T170000Z-hello/summary.json --format csv,trials",
		"clusterbench report results/runs/20261130T170000Z-hello --percentiles 50,99,99.9,99.99",
		"clusterbench report results/runs/20261130T170000Z-hello --format html > hello.html",
	},
	Exits: []string{exitOKLine, exitUsageLine + "; or no such path", "3  the file is not a readable run, or its histograms.hlog is damaged (the rest is still printed)"},
}

func parseReport(stdout io.Writer, args []string) (reportOptions, error) {
	var o reportOptions
	var format, pcts string
	fs := newFlags("report")
	fs.StringVar(&format, "format", "table", "comma-separated output formats: "+strings.Join(report.Formats, ", "))
	fs.StringVar(&pcts, "percentiles", "", "comma-separated latency percentiles to recompute from histograms.hlog, e.g. 50,99,99.99 (printed instead of --format)")
	if err := parseFlags(fs, reportHelp, stdout, args); err != nil {
		return o, err
	}
	if fs.NArg() != 1 {
		return o, usageError("want one run directory or summary.json, got %d arguments (usage: clusterbench report RUN_DIR|summary.json [--format table,md,csv,trials,workers,json,html])", fs.NArg())
	}
	o.path = fs.Arg(0)
	var err error
	if o.formats, err = report.ParseFormats(format); err != nil {
		return o, usageError("%v", err)
	}
	if fs.Changed("percentiles") {
		if o.percentiles, err = report.ParsePercentiles(pcts); err != nil {
			return o, usageError("--percentiles: %v", err)
		}
	}
	return o, nil
}

// runReport renders a saved run in each requested format, one after the
// other on stdout, separated by a blank line. A path that does not exist is
// a usage error (exit 2); a file that is not a valid run is exit 3.
func runReport(_ context.Context, stdout, stderr io.Writer, args []string) error {
	o, err := parseReport(stdout, args)
	if err != nil {
		return err
	}
	if _, err := os.Stat(o.path); errors.Is(err, fs.ErrNotExist) {
		return usageError("%s: no such run directory or file", o.path)
	}
	run, err := report.ReadRun(o.path)
	if run == nil {
		return measurementError(err)
	}
	// A damaged histograms.hlog: print what the summary holds, then fail
	// (main prints the error).
	histErr := err
	if o.percentiles != nil {
		if histErr != nil {
			return measurementError(histErr)
		}
		t, err := report.PercentileTable(run, o.percentiles)
		if err != nil {
			return measurementError(fmt.Errorf("%s: %w", o.path, err))
		}
		return report.RenderTable(stdout, t)
	}
	if err := renderReport(stdout, run, o.formats); err != nil {
		return err
	}
	if histErr != nil {
		return measurementError(histErr)
	}
	return nil
}

func renderReport(stdout io.Writer, run *results.Run, formats []string) error {
	for i, f := range formats {
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
