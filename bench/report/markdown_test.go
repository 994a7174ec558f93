package report

import "testing"

func TestMarkdownText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"a_b *c* <x> p > α | d\nnext \\", `a\_b \*c\* &lt;x&gt; p &gt; α \| d next \\`},
		{"run `clusterbench ab` to interleave", "run `clusterbench ab` to interleave"},
		{"code `a_b|c` and a_b", "code `a_b\\|c` and a\\_b"},
		{"a lone ` backtick_", "a lone \\` backtick\\_"},
	}
	for _, tt := range tests {
		if got := MarkdownText(tt.in); got != tt.want {
			t.Errorf("MarkdownText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
