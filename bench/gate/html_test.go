package gate

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/clusterbench/clusterbench/bench/htmlreport"
)

// gatePage is what the tests read of gate.html.
type gatePage struct {
	headline, headlineClass string
	charts                  [][]string // per <figure> with an SVG: its <text>s
	fills                   []map[string]int
	missing                 []string
	tables                  int
}

func readGatePage(t *testing.T, data []byte) gatePage {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var p gatePage
	text := func(n *html.Node) string {
		var b strings.Builder
		var w func(*html.Node)
		w = func(n *html.Node) {
			if n.Type == html.TextNode {
				b.WriteString(n.Data)
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				w(c)
			}
		}
		w(n)
		return strings.TrimSpace(b.String())
	}
	attr := func(n *html.Node, k string) string {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "p" && strings.HasPrefix(attr(n, "class"), "headline") && p.headline == "":
				p.headline, p.headlineClass = text(n), attr(n, "class")
			case n.Data == "p" && attr(n, "class") == "missing":
				p.missing = append(p.missing, text(n))
			case n.Data == "table":
				p.tables++
			case n.Data == "svg":
				var texts []string
				fills := map[string]int{}
				var in func(*html.Node)
				in = func(m *html.Node) {
					if m.Type == html.ElementNode && m.Data == "text" {
						texts = append(texts, text(m))
					}
					if m.Type == html.ElementNode && m.Data == "path" {
						if st := attr(m, "style"); strings.HasPrefix(st, "fill:#") {
							fills[strings.TrimPrefix(strings.SplitN(st, ";", 2)[0], "fill:")]++
						}
					}
					for c := m.FirstChild; c != nil; c = c.NextSibling {
						in(c)
					}
				}
				in(n)
				p.charts = append(p.charts, texts)
				p.fills = append(p.fills, fills)
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return p
}

func TestWriteHTML(t *testing.T) {
	rep, l := fixture(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rep, l); err != nil {
		t.Fatal(err)
	}
	p := readGatePage(t, buf.Bytes())
	if p.headline != rep.Headline() || p.headlineClass != "headline bad" {
		t.Errorf("headline %q (class %q), want %q marked bad", p.headline, p.headlineClass, rep.Headline())
	}
	if len(p.charts) != len(rep.Results) {
		t.Fatalf("%d charts for %d metrics", len(p.charts), len(rep.Results))
	}
	base := fmt.Sprintf("#%02X%02X%02X", 0x00, 0x72, 0xB2) // the first series colour
	head := fmt.Sprintf("#%02X%02X%02X", 0xD5, 0x5E, 0x00) // the second
	for i, r := range rep.Results {
		texts := p.charts[i]
		if want := r.RowLabel() + ": " + r.Verdict.String(); texts[0] != want {
			t.Errorf("chart %d title %q, want %q", i, texts[0], want)
		}
		for _, want := range []string{htmlreport.BaseName, htmlreport.HeadName, fmt.Sprintf("%s (%s)", r.RowLabel(), r.Unit)} {
			if !strings.Contains(strings.Join(texts, "\n"), want) {
				t.Errorf("%s: chart lacks %q: %q", r.RowLabel(), want, texts)
			}
		}
		// Per arm with values: a dot per trial and the legend's, the
		// median's square and the legend's.
		for _, arm := range []struct {
			name, colour string
			values       []float64
		}{{"base", base, r.Base}, {"head", head, r.Head}} {
			want := 0
			if len(arm.values) > 0 {
				want = len(arm.values) + 3
			}
			if got := p.fills[i][arm.colour]; got != want {
				t.Errorf("%s, %s: %d filled marks in its colour, want %d (%d trials)", r.RowLabel(), arm.name, got, want, len(arm.values))
			}
		}
	}
	if p.tables != 1 {
		t.Errorf("%d tables, want the verdict table", p.tables)
	}
}

func TestWriteHTMLPassing(t *testing.T) {
	rep, l := passing(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rep, l); err != nil {
		t.Fatal(err)
	}
	p := readGatePage(t, buf.Bytes())
	if p.headlineClass != "headline" || !strings.HasPrefix(p.headline, "PASS") {
		t.Errorf("headline %q (class %q), want a PASS not marked bad", p.headline, p.headlineClass)
	}
}
