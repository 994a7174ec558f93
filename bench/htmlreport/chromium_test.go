package htmlreport_test

import (
	"context"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/htmlreport"
)

// browsers are the names a headless Chromium goes by.
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// TestChromiumScreenshot opens report.html from a file:// URL in headless
// Chromium and checks the screenshot shows the charts: mostly white
// paper, but every server's colour painted over enough pixels to be its
// dots, lines and bars (a page whose SVG failed to render would show
// text only).
func TestChromiumScreenshot(t *testing.T) {
	var bin string
	for _, b := range browsers {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skipf("no headless Chromium on PATH (looked for %v): the page is not rendered by a browser; `apt-get install chromium` runs this test", browsers)
	}
	if testing.Short() {
		t.Skip("-short: starting a browser takes seconds")
	}
	run := readFixture(t)
	withHistograms(run)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, render(t, run), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// --no-sandbox: the sandbox refuses to run as root (CI containers).
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1200,6000", "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	white := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			counts[c]++
			if c.R > 250 && c.G > 250 && c.B > 250 {
				white++
			}
		}
	}
	total := b.Dx() * b.Dy()
	t.Logf("screenshot %dx%d: %d distinct colours, %.1f%% near-white", b.Dx(), b.Dy(), len(counts), 100*float64(white)/float64(total))
	if len(counts) < 50 {
		t.Errorf("screenshot has %d distinct colours: blank or text only", len(counts))
	}
	if white == total || float64(white)/float64(total) < 0.5 {
		t.Errorf("%.1f%% of the screenshot is near-white; want a white page with charts on it", 100*float64(white)/float64(total))
	}
	pal := htmlreport.ServerPalette(run)
	for _, s := range run.Servers {
		n := counts[pal.Colour(s.Name)]
		t.Logf("%s: %d pixels of its colour", s.Name, n)
		if n < 200 {
			t.Errorf("server %s's colour %v covers %d pixels; its chart marks did not render", s.Name, pal.Colour(s.Name), n)
		}
	}
}
