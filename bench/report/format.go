package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Formats are the names `--format` takes, in the order they print.
var Formats = []string{"table", "md", "csv", "trials", "workers", "json", "html"}

// For returns the Reporter of one format name: table (terminal tables),
// md (report.md), csv (summary.csv), trials (trials.csv), workers
// (workers.csv), json (summary.json), html (report.html: charts and
// tables).
func For(format string, run *results.Run) (Reporter, error) {
	switch format {
	case "table":
		return Text(run), nil
	case "md":
		return Markdown(run), nil
	case "csv":
		return SummaryCSV(run), nil
	case "trials":
		return TrialsCSV(run), nil
	case "workers":
		return WorkersCSV(run), nil
	case "json":
		return JSON(run), nil
	case "html":
		return HTML(run), nil
	}
	return nil, fmt.Errorf("format %q is not a format (allowed: %s)", format, strings.Join(Formats, ", "))
}

// ParseFormats splits a comma-separated --format value, checking each name
// and dropping repeats; empty means "table".
func ParseFormats(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return []string{"table"}, nil
	}
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(Formats, f) {
			return nil, fmt.Errorf("--format: %q is not a format (allowed: %s)", f, strings.Join(Formats, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}
