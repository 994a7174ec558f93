package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/merge"
	"github.com/clusterbench/clusterbench/bench/report"
)

type mergeOptions struct {
	dirs         []string
	out          string
	allowMissing bool
	quiet        bool
	formats      []string
}

var mergeHelp = cmdHelp{
	Usage: "clusterbench merge SHARD_DIR... [flags]",
	About: `Merges the run directories of the shards of one run (run or load --shard i/N, e.g. the pods
of a 'clusterbench k8s job') into one run directory under --out, as if one generator had
applied the whole load. Per trial (server, level, trial) the latency histograms are added
exactly, so the merged p99 is the p99 of every request; requests, throughput, rates, status
codes, errors and per-worker tallies are summed; a trial is client-bound when any shard's
generator was, and the warnings say which shard. Summaries are recomputed as run computes them.
'clusterbench report' and 'compare' read the merged directory like any other; its report (and
report.md, report.html) adds a table of the shards' load generators: each one's share, requests,
CPU time and use, and whether it was the bottleneck.`,
	Examples: []string{
		"clusterbench merge shards/0/* shards/1/* shards/2/* shards/3/* -o results/runs",
		"clusterbench merge results/runs/20261130T200000Z-load* --allow-missing -q",
	},
	Exits: []string{exitOKLine,
		"2  usage error, or the directories are not the shards of one run: other run ids, scenarios, builds or loads, an index twice, shards missing without --allow-missing",
		"3  a run directory could not be read: a summary.json or histograms.hlog that is damaged, truncated or missing; or the merged run could not be written"},
}

func parseMerge(stdout io.Writer, args []string) (mergeOptions, error) {
	var o mergeOptions
	var format string
	fs := newFlags("merge")
	fs.StringVarP(&o.out, "out", "o", report.DefaultRunsDir, "directory the merged run directory is written under")
	fs.BoolVar(&o.allowMissing, "allow-missing", false, "merge the shards given although some are missing; the merged run is marked incomplete and names them")
	addFormatFlag(fs, &format)
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only the merged run directory")
	if err := parseFlags(fs, mergeHelp, stdout, args); err != nil {
		return o, err
	}
	if fs.NArg() == 0 {
		return o, usageError("no shard directories given (usage: %s)", mergeHelp.Usage)
	}
	if o.out == "" {
		return o, usageError("--out: empty directory name")
	}
	var err error
	if o.formats, err = report.ParseFormats(format); err != nil {
		return o, usageError("%v", err)
	}
	o.dirs = fs.Args()
	return o, nil
}

func runMerge(_ context.Context, stdout, stderr io.Writer, args []string) error {
	o, err := parseMerge(stdout, args)
	if err != nil {
		return err
	}
	shards := make([]merge.Shard, 0, len(o.dirs))
	for _, d := range o.dirs {
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			return usageError("%s: no such shard directory", d)
		}
		run, err := report.ReadRun(d)
		if err != nil {
			if errors.Is(err, hlog.ErrCorrupt) {
				return measurementError(fmt.Errorf("%w (allowed: the histograms.hlog the shard wrote, whole: an exact merge needs every histogram)", err))
			}
			return measurementError(err)
		}
		shards = append(shards, merge.Shard{Dir: d, Run: run})
	}
	run, err := merge.Merge(shards, merge.Options{AllowMissing: o.allowMissing, Args: append([]string{"clusterbench", "merge"}, args...)})
	switch {
	case errors.Is(err, merge.ErrNoHistogram):
		return measurementError(err)
	case err != nil:
		return usageError("%v", err)
	}
	if err := report.CheckDir(o.out); err != nil {
		return usageError("--out: %v", err)
	}
	dir, err := report.WriteRun(o.out, run)
	if err != nil {
		return measurementError(fmt.Errorf("write the merged run: %w", err))
	}
	if o.quiet {
		_, err := fmt.Fprintln(stdout, dir)
		return err
	}
	if err := renderReport(stdout, run, o.formats); err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, "\n"); err != nil {
		return err
	}
	note := ""
	if !run.Complete {
		note = " (incomplete: " + run.Incomplete + ")"
	}
	_, err = fmt.Fprintf(stdout, "merged %d of %d shards of run %s into %s%s\n", len(run.Shard.Merged), run.Shard.Count, run.Shard.RunID, dir, note)
	return err
}
