package scenario

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a scenario file or in an override. It prints as
//
//	file:line: field: problem (allowed: ...)
//
// File and Line are empty for overrides from the command line, where
// Field names the flag (e.g. "--concurrency"); Allowed is omitted when
// empty.
type Error struct {
	File    string
	Line    int
	Field   string // e.g. "servers[1].balance"
	Problem string // e.g. `"fair" is not a balance mode`
	Allowed string // e.g. "reuseport, shared, roundrobin"
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	if e.Allowed != "" {
		fmt.Fprintf(&b, " (allowed: %s)", e.Allowed)
	}
	return b.String()
}

// Errors is every problem found in one file, ordered by line. Parse,
// Load and Override return all of them at once, never just the first.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted orders errors by line, keeping the order of discovery within a
// line, and drops exact duplicates.
func (es Errors) sorted() Errors {
	slices.SortStableFunc(es, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	out := es[:0]
	for i, e := range es {
		if i > 0 && *e == *es[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}
