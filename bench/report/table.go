// Package report renders a saved run (results.Run) for people and tools:
// terminal tables, Markdown, CSV and JSON, and writes and reads run
// directories (results/runs/<UTC time>-<scenario>/) whole or not at all.
//
// Rendering follows one model: Build turns a run into a Document (a
// verdict, then Tables of plain strings, alignment, notes and legends), and
// each format is a renderer of that model (Text, Markdown); the verdict is
// also a model of its own (VerdictOf) for renderers that draw it. The CSV
// files are Tables too, one kind of row each, in plain decimals
// (SummaryCSV, TrialsCSV, WorkersCSV). Every function here is a
// pure function of its inputs except the run-directory I/O in rundir.go
// and TextWriter, which remembers the legend lines it has printed;
// nothing else keeps state between calls, so all else is safe for
// concurrent use.
package report

import "io"

// Reporter writes one rendering of a run to w.
type Reporter func(w io.Writer) error

// Align is a column's alignment.
type Align int

// Alignments.
const (
	Left Align = iota
	Right
)

// Table is one table in a renderer-neutral form: every cell is already
// formatted text; Align has one entry per column of Header.
type Table struct {
	Title  string
	Header []string
	Align  []Align
	Rows   [][]string
	Notes  []string // lines about this table's figures (fairness, cut trials), printed under it
	// Legend explains columns and flags. The renderers print each legend
	// line once: under the first table that carries it (TextWriter: the
	// first of every document it writes).
	Legend []string
}

// Document is everything a human-readable report shows, in order.
type Document struct {
	Title string
	// Verdict answers what the run found (Verdict.Lines), before
	// everything else; VerdictLegend explains its words (printed once,
	// as a table's Legend).
	Verdict       []string
	VerdictLegend []string
	Meta          [][2]string // label, value: scenario, time, environment
	Warnings      []string
	Tables        []Table
}
