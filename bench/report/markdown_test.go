package report

import (
	"strings"
	"testing"
)

func TestMarkdownText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"a_b *c* <x> p > α | d\nnext \\", `a\_b \*c\* &lt;x&gt; p &gt; α \| d next \\`},
		{"run `clusterbench ab` to interleave", "run `clusterbench ab` to interleave"},
		{"code `a_b|c` and a_b", "code `a_b\\|c` and a\\_b"},
		{"a lone ` backtick_", "a lone \\` backtick\\_"},
		// backticks: a span opens and closes with runs of the same length,
		// as Markdown reads them; text outside is escaped, inside it is not
		{"``x_y``", "``x_y``"},
		{"`a` and ``b_c``", "`a` and ``b_c``"},
		{"``a`b`` c_d", "``a`b`` c\\_d"},
		{"`` x_y", "\\`\\` x\\_y"},
		// pipes: escaped in text and in spans (a table cell ends at any other)
		{"a | b", `a \| b`},
		{"`a|b` | c", "`a\\|b` \\| c"},
		// < and >: entities in text, as written in spans
		{"<b> `<b>` a>b", "&lt;b&gt; `<b>` a&gt;b"},
		// newlines: folded into spaces, in text and in spans
		{"one\ntwo `a\nb`", "one two `a b`"},
		{"line\r\nnext", "line next"},
	}
	for _, tt := range tests {
		if got := MarkdownText(tt.in); got != tt.want {
			t.Errorf("MarkdownText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzMarkdownText: whatever the text, the result is one line, and no
// pipe in it can end a table cell (each follows a backslash).
func FuzzMarkdownText(f *testing.F) {
	for _, s := range []string{"a|b", "`a|b`", "``x``", "` lone", "a\r\nb", "`a\nb`", "\\|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := MarkdownText(s)
		if strings.ContainsAny(got, "\r\n") {
			t.Errorf("MarkdownText(%q) = %q: a line ending", s, got)
		}
		for i := range len(got) {
			if got[i] == '|' && (i == 0 || got[i-1] != '\\') {
				t.Errorf("MarkdownText(%q) = %q: an unescaped pipe at %d", s, got, i)
			}
		}
	})
}
