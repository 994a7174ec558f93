package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/gate"
)

// gateOptions are the flags `ab` and `compare` share: the statistics and
// the outputs of the gate.
type gateOptions struct {
	threshold  string
	alpha      float64
	confidence float64
	metrics    string
	strict     bool
	summary    string
	benchfmt   string
	junit      string
	html       string
	// annotate: GitHub annotations; defaults to GITHUB_ACTIONS=true.
	annotate bool

	opts gate.Options // parsed
}

func addGateFlags(fs *pflag.FlagSet, o *gateOptions) {
	fs.StringVar(&o.threshold, "threshold", formatThreshold(gate.DefaultThreshold), "smallest worsening that fails the gate (5% or 0.05); a significant change below it passes")
	fs.Float64Var(&o.alpha, "alpha", gate.DefaultAlpha, "family-wise significance level of the one-sided tests (Holm-corrected across the metrics)")
	fs.Float64Var(&o.confidence, "confidence", gate.DefaultConfidence, "level of the confidence intervals printed")
	fs.StringVar(&o.metrics, "metrics", "", "metrics to gate, comma-separated: "+strings.Join(gate.MetricNames(), ", ")+
		" (default: cpu,p50,p99 for open loop, cpu,throughput for closed loop)")
	fs.BoolVar(&o.strict, "strict", false, "exit 3 when any metric is inconclusive (too few samples, too noisy); without it an inconclusive gate exits 0 with a WARNING saying what would decide it")
	fs.StringVar(&o.summary, "summary", "", "write a Markdown summary to `FILE` (appended to when FILE is $GITHUB_STEP_SUMMARY)")
	fs.StringVar(&o.benchfmt, "benchfmt", "", "write every sample in the Go benchmark format to `FILE` (benchstat -col arm FILE)")
	fs.StringVar(&o.junit, "junit", "", "write JUnit XML to `FILE`")
	fs.StringVar(&o.html, "html", "", "write the gate as a picture to `FILE` (gate.html: base against head per metric, verdict on top; self-contained HTML)")
	fs.BoolVar(&o.annotate, "annotate", os.Getenv("GITHUB_ACTIONS") == "true", "print GitHub ::error/::warning annotations (default on when GITHUB_ACTIONS=true)")
}

func formatThreshold(f float64) string {
	return strconv.FormatFloat(f*100, 'g', -1, 64) + "%"
}

// parseThreshold reads "5%" or "0.05".
func parseThreshold(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("--threshold %q is not a percentage (allowed: e.g. 5%% or 0.05)", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// validate parses and checks the shared flags.
func (o *gateOptions) validate() error {
	th, err := parseThreshold(o.threshold)
	if err != nil {
		return usageError("%v", err)
	}
	o.opts = gate.Options{Alpha: o.alpha, Threshold: th, ThresholdSet: true, Confidence: o.confidence}
	if o.alpha == 0 {
		return usageError("--alpha 0 out of range (allowed: 0 < alpha < 0.5)")
	}
	if err := o.opts.Validate(); err != nil {
		return usageError("%v", err)
	}
	if o.metrics != "" {
		if _, err := gate.ParseMetrics(o.metrics); err != nil {
			return usageError("--metrics: %v", err)
		}
	}
	return nil
}

// defs returns the metrics to gate for a load mode.
func (o *gateOptions) defs(mode string) []gate.Def {
	list := o.metrics
	if list == "" {
		list = strings.Join(gate.DefaultMetrics(mode), ",")
	}
	defs, err := gate.ParseMetrics(list)
	if err != nil { // validated already
		panic(err)
	}
	return defs
}

// emit prints the report, writes the files asked for, and turns the
// verdict into the command's error (and so its exit code): regression 1,
// failed measurement 3, inconclusive under --strict 3, else nil.
func (o *gateOptions) emit(stdout io.Writer, rep gate.Report, l gate.Labels) error {
	l.OnInconclusive = "exit status 0 all the same (--strict makes it 3)"
	if o.strict {
		l.OnInconclusive = "exit status 3 (--strict)"
	}
	if err := gate.WriteText(stdout, rep, l); err != nil {
		return err
	}
	if o.annotate {
		if err := gate.WriteAnnotations(stdout, rep, l); err != nil {
			return err
		}
	}
	files := []struct {
		path   string
		render func(io.Writer, gate.Report, gate.Labels) error
	}{{o.summary, gate.WriteMarkdown}, {o.benchfmt, gate.WriteBenchfmt}, {o.junit, gate.WriteJUnit}, {o.html, gate.WriteHTML}}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		write := gate.WriteFile
		if f.path == os.Getenv("GITHUB_STEP_SUMMARY") {
			write = gate.AppendFile // GitHub's step summary is appended to, not replaced
		}
		if err := write(f.path, func(w io.Writer) error { return f.render(w, rep, l) }); err != nil {
			return measurementError(err)
		}
	}
	switch v := rep.Verdict(); {
	case v == gate.Regressed:
		return regressionError(fmt.Errorf("%d metric(s) regressed", rep.Count(gate.Regressed)))
	case v == gate.Failed:
		return measurementError(fmt.Errorf("the measurement failed for %d metric(s)", rep.Count(gate.Failed)))
	case v == gate.Inconclusive && o.strict:
		return measurementError(fmt.Errorf("%d metric(s) inconclusive (--strict)", rep.Count(gate.Inconclusive)))
	}
	return nil
}
