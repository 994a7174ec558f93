package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Markdown renders the run as GitHub-flavoured Markdown (report.md): the
// same Document as Text, with pipe tables.
func Markdown(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteMarkdown(w, Build(run)) }
}

// WriteMarkdown renders d as GitHub-flavoured Markdown.
func WriteMarkdown(w io.Writer, d Document) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s\n\n", MarkdownText(d.Title))
	printed := map[string]bool{}
	if len(d.Verdict) > 0 {
		bw.WriteString("## Verdict\n\n")
		for _, l := range d.Verdict {
			fmt.Fprintf(bw, "- %s\n", MarkdownText(l))
		}
		if lg := unprinted(printed, d.VerdictLegend); len(lg) > 0 {
			bw.WriteString("\n")
			for _, l := range lg {
				fmt.Fprintf(bw, "%s  \n", MarkdownText(l))
			}
		}
		bw.WriteString("\n")
	}
	for _, m := range d.Meta {
		fmt.Fprintf(bw, "- **%s**: %s\n", MarkdownText(m[0]), MarkdownText(m[1]))
	}
	if len(d.Warnings) > 0 {
		bw.WriteString("\n")
		for _, warn := range d.Warnings {
			fmt.Fprintf(bw, "> **Warning:** %s\n>\n", MarkdownText(warn))
		}
	}
	for _, t := range d.Tables {
		fmt.Fprintf(bw, "\n## %s\n\n", MarkdownText(t.Title))
		row := func(cells []string) {
			bw.WriteString("|")
			for _, c := range cells {
				bw.WriteString(" " + mdCell(c) + " |")
			}
			bw.WriteString("\n")
		}
		row(t.Header)
		bw.WriteString("|")
		for i := range t.Header {
			if i < len(t.Align) && t.Align[i] == Right {
				bw.WriteString(" ---: |")
			} else {
				bw.WriteString(" :--- |")
			}
		}
		bw.WriteString("\n")
		for _, r := range t.Rows {
			row(r)
		}
		if notes := append(slices.Clone(t.Notes), unprinted(printed, t.Legend)...); len(notes) > 0 {
			bw.WriteString("\n")
			for _, n := range notes {
				fmt.Fprintf(bw, "%s  \n", MarkdownText(n))
			}
		}
	}
	return bw.Flush()
}

var (
	mdEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "|", `\|`,
		"\r\n", " ", "\r", " ", "\n", " ")
	mdCodeEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\r", " ", "\n", " ")
)

// MarkdownText escapes what Markdown would otherwise format (emphasis,
// HTML, table pipes) and folds line endings (\n, \r\n, \r) into spaces,
// so s stays one line of text or one table cell. Code spans are kept,
// their text as written (pipes escaped, as a table cell needs): a run of
// backticks opens one when a later run of the same length closes it, as
// Markdown reads them; a run that none closes is escaped. The gate's
// Markdown summary uses it too.
func MarkdownText(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(mdEscaper.Replace(s))
			return b.String()
		}
		b.WriteString(mdEscaper.Replace(s[:i]))
		n := backticks(s[i:])
		if end := closing(s[i+n:], n); end >= 0 {
			code := s[i+n : i+n+end]
			b.WriteString(s[i:i+n] + mdCodeEscaper.Replace(code) + s[i:i+n])
			s = s[i+n+end+n:]
			continue
		}
		b.WriteString(strings.Repeat("\\`", n))
		s = s[i+n:]
	}
}

// backticks is the length of the run of backticks s starts with.
func backticks(s string) int {
	n := 0
	for n < len(s) && s[n] == '`' {
		n++
	}
	return n
}

// closing is where in s the first run of exactly n backticks starts, -1
// when there is none.
func closing(s string, n int) int {
	for i := 0; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		m := backticks(s[i:])
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

// mdCell is MarkdownText for a table cell (pipes included).
func mdCell(s string) string {
	if s == "" {
		return " "
	}
	return MarkdownText(s)
}
