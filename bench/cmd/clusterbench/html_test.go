package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/clusterbench/clusterbench/bench/htmlreport"
)

// htmlOutline parses an HTML page and returns its section titles (h2)
// and the number of inline SVG charts and of sentences that replace one.
func htmlOutline(t *testing.T, page []byte) (h2 []string, charts, missing int, text string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("not HTML: %v", err)
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "h2":
				if n.FirstChild != nil {
					h2 = append(h2, n.FirstChild.Data)
				}
			case "svg":
				charts++
			case "p":
				for _, a := range n.Attr {
					if a.Key == "class" && a.Val == "missing" {
						missing++
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return h2, charts, missing, b.String()
}

// TestReportHTMLOldRunDir: a run directory written before histograms were
// saved (summary.json only) renders every chart it can, and says which it
// cannot draw and why.
func TestReportHTMLOldRunDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261125T193000Z-fixture")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(fixtureDir, "closed", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runMain("report", dir, "--format", "html")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	h2, charts, missing, text := htmlOutline(t, []byte(out))
	want := []string{"Verdict", htmlreport.SectionThroughput, htmlreport.SectionLatency, htmlreport.SectionCPU, htmlreport.SectionWorkers, "Tables"}
	if strings.Join(h2, "|") != strings.Join(want, "|") {
		t.Errorf("sections %q, want %q", h2, want)
	}
	if missing != 1 || !strings.Contains(text, htmlreport.NoHistograms) {
		t.Errorf("%d charts replaced by a sentence; want the latency spectra, saying %q", missing, htmlreport.NoHistograms)
	}
	if charts != 5 { // throughput, server CPU, the worker charts of pool, prefork, node-rr
		t.Errorf("%d charts, want 5", charts)
	}
}

// TestCompareHTML: --html writes the gate as a page with the verdict on
// top and one chart per gated metric.
func TestCompareHTML(t *testing.T) {
	page := filepath.Join(t.TempDir(), "gate.html")
	var out, errb bytes.Buffer
	code := Main(context.Background(), &out, &errb, []string{"compare", "--annotate=false", "--html", page,
		"testdata/compare/base", "testdata/compare/slow.json"})
	if code != ExitRegression {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	_, charts, missing, text := htmlOutline(t, data)
	headline := strings.SplitN(out.String(), "\n", 2)[0]
	if !strings.Contains(text, headline) {
		t.Errorf("gate.html does not carry the verdict %q", headline)
	}
	metrics := strings.Count(out.String(), ": REGRESSION:") + strings.Count(out.String(), ": no change:") +
		strings.Count(out.String(), ": improvement:") + strings.Count(out.String(), ": inconclusive:")
	if metrics == 0 || charts+missing != metrics {
		t.Errorf("%d charts and %d sentences for %d gated metrics", charts, missing, metrics)
	}
}
