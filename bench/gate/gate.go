// Package gate decides whether a change regressed performance, from the
// per-trial samples of a base and a head build measured side by side.
//
// For every gated metric it computes the median of each arm with a
// distribution-free confidence interval (x/perf benchmath, AssumeNothing),
// the ratio of medians head/base with a percentile-bootstrap confidence
// interval (deterministic: a fixed seed, so the same samples always print
// the same interval), and a one-sided Mann-Whitney U p-value in the
// direction of "worse" (go-moremath, exact distribution up to 50 samples,
// with ties). The p-values of the metrics gated together are corrected for
// multiple testing with Holm's step-down method. A metric regressed iff its
// corrected p ≤ alpha AND it worsened by more than the threshold. A result
// that cannot be decided is Inconclusive with the reason (too few samples
// for the alpha, identical zero samples, a confidence interval too wide to
// rule out a regression), never a silent pass, and with what would decide
// it, computed from the data (the trials per side the test needs, or an
// estimate of those the noise calls for); a metric whose trials all
// failed is Failed. Every renderer prints an inconclusive metric as a
// warning.
//
// Evaluate is a pure function of its inputs: no I/O, no clocks, no
// randomness beyond a fixed-seed bootstrap; safe for concurrent use.
// Renderers (text, Markdown, Go benchmark format, JUnit XML, GitHub
// annotations) are func(io.Writer, Report) error over the same Report.
package gate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Defaults of the gate; the CLI and the docs reuse them.
const (
	DefaultAlpha      = 0.01
	DefaultThreshold  = 0.05
	DefaultConfidence = 0.95
	DefaultBootstrap  = 2000
	// DefaultSeed seeds the bootstrap; fixed so output is reproducible.
	DefaultSeed = 0x5eed
)

// Better is the direction in which a metric improves.
type Better int

// Directions.
const (
	LowerIsBetter  Better = -1
	HigherIsBetter Better = +1
)

func (b Better) String() string {
	if b == HigherIsBetter {
		return "higher"
	}
	return "lower"
}

// Verdict is the outcome for one metric or for a whole gate.
type Verdict int

// Verdicts, in increasing order of severity for the overall verdict:
// Failed is worst only after Regressed (a regression found is a finding
// even when another metric could not be measured).
const (
	NoChange Verdict = iota
	Improved
	Inconclusive
	Failed
	Regressed
)

func (v Verdict) String() string {
	switch v {
	case NoChange:
		return "no change"
	case Improved:
		return "improvement"
	case Inconclusive:
		return "inconclusive"
	case Failed:
		return "failed"
	case Regressed:
		return "REGRESSION"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Metric is one gated metric's samples: one value per valid trial and arm.
// Failed counts the trials of an arm that produced no valid value (no
// successful request, no CPU reading); they are left out of the samples.
type Metric struct {
	Def
	// Group names what was measured when a gate covers several servers or
	// load levels ("single@400"); "" when there is one.
	Group                  string
	Base, Head             []float64
	BaseFailed, HeadFailed int
}

// Options configure Evaluate. The zero value means the defaults above.
type Options struct {
	Alpha      float64 // family-wise significance level, one-sided; 0 = DefaultAlpha
	Threshold  float64 // smallest worsening that counts, as a fraction (0.05 = 5%); 0 = DefaultThreshold
	Confidence float64 // level of the confidence intervals; 0 = DefaultConfidence
	Bootstrap  int     // bootstrap resamples for the ratio CI; 0 = DefaultBootstrap
	Seed       uint64  // bootstrap seed; 0 = DefaultSeed
	// ThresholdSet records that Threshold was given (so 0 can mean "any
	// worsening"): when false, 0 means DefaultThreshold.
	ThresholdSet bool
}

func (o Options) withDefaults() Options {
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.Threshold == 0 && !o.ThresholdSet {
		o.Threshold = DefaultThreshold
	}
	if o.Confidence == 0 {
		o.Confidence = DefaultConfidence
	}
	if o.Bootstrap == 0 {
		o.Bootstrap = DefaultBootstrap
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	return o
}

// Validate reports options out of range, saying what is allowed.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case !(o.Alpha > 0 && o.Alpha < 0.5):
		return fmt.Errorf("alpha %v out of range (allowed: 0 < alpha < 0.5)", o.Alpha)
	case !(o.Threshold >= 0 && o.Threshold < 1):
		return fmt.Errorf("threshold %v out of range (allowed: 0%% ≤ threshold < 100%%)", o.Threshold)
	case !(o.Confidence >= 0.5 && o.Confidence < 1):
		return fmt.Errorf("confidence %v out of range (allowed: 0.5 ≤ confidence < 1)", o.Confidence)
	case o.Bootstrap < 100 || o.Bootstrap > 1_000_000:
		return fmt.Errorf("bootstrap %d out of range (allowed: 100..1000000)", o.Bootstrap)
	}
	return nil
}

// Result is the gate's finding for one metric.
type Result struct {
	Metric
	// BaseEst and HeadEst are each arm's median with its interval at
	// Options.Confidence (metrics.EstimateAt; not Bounded when the arm has
	// too few values for an interval at that level).
	BaseEst, HeadEst results.Estimate
	// Ratio is median(head)/median(base), with its bootstrap interval.
	Ratio, RatioLo, RatioHi float64
	// P is the one-sided U-test p-value for "head is worse"; PAdj is it
	// after Holm's correction over the K metrics gated together. PBetter
	// and PBetterAdj are the same for "head is better".
	P, PAdj, PBetter, PBetterAdj float64
	Verdict                      Verdict
	Reason                       string
	// ToDecide says, for an Inconclusive metric, what would decide it,
	// computed from the data: the trials per side the test needs, an
	// estimate of the trials the noise calls for, or what stands in the
	// way. Empty for every other verdict.
	ToDecide string
}

// RowLabel is the metric's row label: its Label, prefixed by the group.
func (m Metric) RowLabel() string {
	if m.Group == "" {
		return m.Label
	}
	return m.Group + " " + m.Label
}

// Delta is the relative change of the median, head vs base (+0.10 = +10%).
func (r Result) Delta() float64 { return r.Ratio - 1 }

// Worsening is the relative change in the "worse" direction: positive
// when head is worse, whichever way the metric improves.
func (r Result) Worsening() float64 {
	if r.Better == HigherIsBetter {
		return 1 - r.Ratio
	}
	return r.Ratio - 1
}

// ShownP is the corrected p-value in the direction the median moved,
// the one a reader should see next to the delta.
func (r Result) ShownP() float64 {
	if r.Worsening() >= 0 {
		return r.PAdj
	}
	return r.PBetterAdj
}

// Report is the outcome of one gate.
type Report struct {
	Options Options // with defaults applied
	Results []Result
	// K is the number of metrics in the Holm family (those with samples).
	K int
}

// Verdict is the overall verdict: Regressed if any metric regressed, else
// Failed if any metric could not be measured, else Inconclusive if any
// was inconclusive, else Improved if any improved, else NoChange.
func (r Report) Verdict() Verdict {
	v := NoChange
	for _, res := range r.Results {
		v = max(v, res.Verdict)
	}
	if len(r.Results) == 0 {
		return Failed
	}
	return v
}

// Count returns how many metrics have verdict v.
func (r Report) Count(v Verdict) int {
	n := 0
	for _, res := range r.Results {
		if res.Verdict == v {
			n++
		}
	}
	return n
}

// Headline is the one-line verdict printed above every table.
func (r Report) Headline() string {
	var b strings.Builder
	v := r.Verdict()
	switch v {
	case Regressed:
		b.WriteString("FAIL: performance regressed")
	case Failed:
		b.WriteString("ERROR: the measurement failed")
	case Inconclusive:
		b.WriteString("INCONCLUSIVE: no regression shown, but not every metric could be decided")
	case Improved:
		b.WriteString("PASS: no regression (improved)")
	default:
		b.WriteString("PASS: no regression")
	}
	var parts []string
	for _, vv := range []Verdict{Regressed, Failed, Inconclusive, Improved, NoChange} {
		if n := r.Count(vv); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, vv))
		}
	}
	if len(r.Results) == 0 {
		parts = append(parts, "no metric gated")
	}
	fmt.Fprintf(&b, " — %s; %s", strings.Join(parts, ", "), r.Method())
	return b.String()
}

// Method describes the test in one line: alpha, sidedness, correction,
// threshold and sample sizes.
func (r Report) Method() string {
	o := r.Options
	n := "n=?"
	for _, res := range r.Results {
		if res.BaseEst.N > 0 || res.HeadEst.N > 0 {
			n = fmt.Sprintf("n=%d+%d", res.BaseEst.N, res.HeadEst.N)
			break
		}
	}
	return fmt.Sprintf("α=%s one-sided Mann-Whitney U, Holm over K=%d, threshold %s, %s",
		formatFloat(o.Alpha), r.K, formatPct(o.Threshold), n)
}

// ErrNoMetrics is returned when Evaluate is given nothing to gate.
var ErrNoMetrics = errors.New("no metric to gate")

// Evaluate gates every metric. It fails only on invalid options or an
// empty metric list; everything about the samples is a verdict.
func Evaluate(ms []Metric, o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	if len(ms) == 0 {
		return Report{}, ErrNoMetrics
	}
	o = o.withDefaults()
	rep := Report{Options: o, Results: make([]Result, len(ms))}

	// Pass 1: estimates and raw p-values; the Holm family is the metrics
	// with samples on both sides.
	var family []int
	for i, m := range ms {
		r := Result{Metric: m, P: 1, PAdj: 1, PBetter: 1, PBetterAdj: 1}
		r.BaseEst = metrics.EstimateAt(m.Base, o.Confidence)
		r.HeadEst = metrics.EstimateAt(m.Head, o.Confidence)
		if len(m.Base) == 0 || len(m.Head) == 0 {
			r.Verdict = Failed
			r.Reason = failedReason(m)
			rep.Results[i] = r
			continue
		}
		r.Ratio, r.RatioLo, r.RatioHi = ratioCI(m.Base, m.Head, o)
		r.P, r.PBetter = uTest(m.Base, m.Head, m.Better)
		family = append(family, i)
		rep.Results[i] = r
	}
	rep.K = len(family)

	raw := make([]float64, len(family))
	rawBetter := make([]float64, len(family))
	for j, i := range family {
		raw[j] = rep.Results[i].P
		rawBetter[j] = rep.Results[i].PBetter
	}
	adj, adjBetter := holm(raw), holm(rawBetter)
	for j, i := range family {
		r := &rep.Results[i]
		r.PAdj, r.PBetterAdj = adj[j], adjBetter[j]
		r.Verdict, r.Reason, r.ToDecide = decide(*r, rep.K, o)
	}
	return rep, nil
}

func failedReason(m Metric) string {
	var parts []string
	arm := func(name string, failed int) string {
		if failed == 0 {
			return "no " + name + " trials"
		}
		return fmt.Sprintf("every %s trial failed (%d of %d)", name, failed, failed)
	}
	if len(m.Base) == 0 {
		parts = append(parts, arm("base", m.BaseFailed))
	}
	if len(m.Head) == 0 {
		parts = append(parts, arm("head", m.HeadFailed))
	}
	return strings.Join(parts, "; ") + ": nothing to compare"
}

// decide turns one metric's statistics into a verdict, its reason and,
// for Inconclusive, what would decide it. Trials that failed only in head
// may be the regression itself (a head that crashes or errors now and
// then): left out, they would let the trials that worked pass, so such a
// metric is at best inconclusive.
func decide(r Result, k int, o Options) (v Verdict, why, toDecide string) {
	v, why, toDecide = decideSamples(r, k, o)
	if (v == NoChange || v == Improved) && r.HeadFailed > r.BaseFailed {
		return Inconclusive, fmt.Sprintf("head lost more trials than base (%d vs %d failed): the failures may be the regression; "+
			"in the trials that worked, %s: %s", r.HeadFailed, r.BaseFailed, v, why), lostTrialsToDecide(r.Metric)
	}
	return v, why, toDecide
}

// decideSamples is decide on the valid samples alone.
func decideSamples(r Result, k int, o Options) (Verdict, string, string) {
	nb, nh := len(r.Base), len(r.Head)
	note := failedNote(r.Metric)

	// Too few samples: even the most extreme ordering could not reach
	// alpha after Holm's correction (its first step tests at alpha/K).
	if minP := minUTestP(nb, nh); float64(k)*minP > o.Alpha {
		need := neededPerArm(k, o.Alpha)
		return Inconclusive, fmt.Sprintf("too few samples: with n=%d+%d the smallest possible one-sided p is %s, "+
			"but α=%s over K=%d metrics (Holm) needs p ≤ %s: need ≥ %d valid trials per arm%s",
			nb, nh, formatP(minP), formatFloat(o.Alpha), k, formatP(o.Alpha/float64(k)), need, note), tooFewToDecide(nb, nh, k, o)
	}
	if identical(r.Base, r.Head) {
		if r.Base[0] == 0 {
			return Inconclusive, fmt.Sprintf("every value is 0 in both arms: the metric was not measured%s", note), zeroToDecide
		}
		return NoChange, fmt.Sprintf("all %d values identical in both arms (zero variance)%s", nb+nh, note), ""
	}
	worse := r.Worsening()
	// A hair of slack so that a ratio of 1.05 is not "beyond 5%" by a
	// rounding error.
	th := o.Threshold + thresholdSlack
	switch {
	case r.PAdj <= o.Alpha && worse > th:
		return Regressed, fmt.Sprintf("worse by %s (p=%s ≤ α=%s), beyond the %s threshold%s",
			formatPct(worse), formatP(r.PAdj), formatFloat(o.Alpha), formatPct(o.Threshold), note), ""
	case r.PBetterAdj <= o.Alpha && -worse > th:
		return Improved, fmt.Sprintf("better by %s (p=%s ≤ α=%s)%s",
			formatPct(-worse), formatP(r.PBetterAdj), formatFloat(o.Alpha), note), ""
	case r.PAdj <= o.Alpha:
		return NoChange, fmt.Sprintf("worse by %s (p=%s), significant but within the %s threshold%s",
			formatPct(worse), formatP(r.PAdj), formatPct(o.Threshold), note), ""
	case r.PBetterAdj <= o.Alpha:
		return NoChange, fmt.Sprintf("better by %s (p=%s), significant but within the %s threshold%s",
			formatPct(-worse), formatP(r.PBetterAdj), formatPct(o.Threshold), note), ""
	}
	// Not significant. If the interval of the change still reaches past
	// the threshold on the worse side, the data cannot rule a regression
	// out: say so instead of passing silently.
	_, worstCase := r.worseInterval()
	// The percentile bootstrap interval need not contain the point
	// estimate: a median worse beyond the threshold is never "no change".
	worstCase = max(worstCase, worse)
	if worstCase > th {
		return Inconclusive, fmt.Sprintf("not significant (p=%s) but too noisy to rule out a regression: "+
			"the %s interval of the change reaches %s worse, beyond the %s threshold%s",
			formatP(r.ShownP()), formatPct(o.Confidence), formatPct(worstCase), formatPct(o.Threshold), note), noisyToDecide(r, k, o)
	}
	return NoChange, fmt.Sprintf("no significant change (p=%s); the change is at most %s worse at %s confidence%s",
		formatP(r.ShownP()), formatPct(max(worstCase, 0)), formatPct(o.Confidence), note), ""
}

// thresholdSlack keeps a ratio of exactly 1+threshold from counting as
// beyond the threshold by a rounding error.
const thresholdSlack = 1e-9

// worseInterval is the interval of the change in the "worse" direction
// (positive = worse, as Worsening): its best and its worst end.
func (r Result) worseInterval() (best, worst float64) {
	if r.Better == HigherIsBetter {
		return 1 - r.RatioHi, 1 - r.RatioLo
	}
	return r.RatioLo - 1, r.RatioHi - 1
}

func failedNote(m Metric) string {
	if m.BaseFailed == 0 && m.HeadFailed == 0 {
		return ""
	}
	return fmt.Sprintf(" (failed trials left out: %d base, %d head)", m.BaseFailed, m.HeadFailed)
}

func identical(a, b []float64) bool {
	v := a[0]
	for _, x := range a {
		if x != v {
			return false
		}
	}
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}
