// Command calibrate measures how well the regression gate works on this
// machine: it runs many A/A gates (the same server command on both sides,
// where every REGRESSION is a false alarm) and many A/B gates whose head
// carries a known injected cost (`serve --burn D`, D chosen as a given rise
// of the base's CPU time per request), and prints the false-alarm rate and
// the detection rate. `make calibrate` runs it.
//
// The gates run exactly as `clusterbench ab` runs them (bench/ab trials,
// bench/gate verdicts, the scenario's metrics), A/A and A/B alternating so
// that both see the same machine. The burn is set from the median CPU per
// request of the first A/A gate.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/ab"
	"github.com/clusterbench/clusterbench/bench/gate"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/runner"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// Defaults of calibrate.
const (
	DefaultGates    = 20
	DefaultRise     = 0.10
	DefaultScenario = "scenarios/gate.yaml"
	DefaultBinary   = "bin/clusterbench"
)

type options struct {
	gates    int
	rises    []float64
	scenario string
	binary   string
	model    string
	trials   int
	seed     uint64
	alpha    float64
	thresh   float64
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// Once interrupted, a second Ctrl-C takes the default action; the
	// servers die with this process (Pdeathsig).
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(code)
}

func parse(stderr io.Writer, args []string) (options, error) {
	o := options{}
	var rises string
	fs := pflag.NewFlagSet("calibrate", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.gates, "gates", DefaultGates, "A/A gates and A/B gates to run (each)")
	fs.StringVar(&rises, "rise", "10%", "injected rises of CPU per request for the A/B gates, comma-separated (e.g. 5%,10%,20%)")
	fs.StringVar(&o.scenario, "scenario", DefaultScenario, "scenario whose load the gates apply")
	fs.StringVar(&o.binary, "binary", DefaultBinary, "clusterbench binary that serves both arms")
	fs.StringVar(&o.model, "model", "single", "server model")
	fs.IntVar(&o.trials, "trials", 0, "trials per arm (default: the scenario's)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the pair orders (gate i uses seed+i)")
	fs.Float64Var(&o.alpha, "alpha", gate.DefaultAlpha, "gate alpha")
	fs.Float64Var(&o.thresh, "threshold", gate.DefaultThreshold, "gate threshold as a fraction")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.gates < 1 || o.gates > 1000 {
		return o, fmt.Errorf("--gates %d out of range (allowed: 1..1000)", o.gates)
	}
	for _, r := range strings.Split(rises, ",") {
		r = strings.TrimSpace(r)
		v, err := strconv.ParseFloat(strings.TrimSuffix(r, "%"), 64)
		if err != nil || v <= 0 {
			return o, fmt.Errorf("--rise %q is not a positive percentage", r)
		}
		if strings.HasSuffix(r, "%") {
			v /= 100
		}
		o.rises = append(o.rises, v)
	}
	return o, nil
}

func run(ctx context.Context, stdout, stderr io.Writer, args []string) int {
	o, err := parse(stderr, args)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "calibrate:", err)
		return 2
	}
	if ab.ServerCPUUnavailable != "" {
		fmt.Fprintf(stderr, "calibrate: the injected cost is a rise of CPU per request, and %s\n", ab.ServerCPUUnavailable)
		return 2
	}
	sc, err := scenario.LoadFile(o.scenario)
	if err != nil {
		fmt.Fprintln(stderr, "calibrate:", err)
		return 2
	}
	if err := calibrate(ctx, stdout, o, sc); err != nil {
		fmt.Fprintln(stderr, "calibrate:", err)
		return 3
	}
	return 0
}

type tally struct {
	verdicts map[gate.Verdict]int // verdict of the CPU metric
	overall  map[gate.Verdict]int // overall gate verdict
	deltas   []float64            // CPU/req change of the medians
}

func newTally() *tally {
	return &tally{verdicts: map[gate.Verdict]int{}, overall: map[gate.Verdict]int{}}
}

func calibrate(ctx context.Context, w io.Writer, o options, sc *scenario.Scenario) error {
	if o.trials > 0 {
		sc.Load.Trials = o.trials
	}
	defs, err := gate.ParseMetrics(strings.Join(gate.DefaultMetrics(sc.Load.Mode), ","))
	if err != nil {
		return err
	}
	reqs := make([]ab.Request, len(sc.Requests))
	for i, r := range sc.Requests {
		reqs[i] = ab.Request{Method: r.Method, Path: r.Path, Weight: r.Weight}
	}
	base := []string{o.binary, "serve", "--model", o.model}
	cfg := ab.Config{
		Base: base, Head: base, Requests: reqs, Mode: sc.Load.Mode, Level: sc.Load.Levels[0],
		Duration: sc.Load.Duration, Warmup: sc.Load.Warmup, KeepAlive: sc.Load.KeepAlive,
		Timeout: sc.Load.Timeout, Pairs: sc.Load.Trials, Rounds: ab.AutoRounds(sc.Load.Duration),
	}
	allowed, err := runner.AllowedCPUs()
	if err != nil {
		return err
	}
	cfg.ServerCPUs, cfg.ClientCPUs = ab.AutoPin(allowed)
	gopts := gate.Options{Alpha: o.alpha, Threshold: o.thresh, ThresholdSet: true}
	fmt.Fprintf(w, "calibrate: %d A/A and %d A/B gate(s) per rise %v; scenario %s (%s loop, level %d, %s trials in %d slices + %s warm-up, %d pairs); metrics %s; α=%g, threshold %g%%\n",
		o.gates, o.gates, pcts(o.rises), sc.Name, sc.Load.Mode, cfg.Level, cfg.Duration, cfg.Rounds, cfg.Warmup, cfg.Pairs,
		strings.Join(gate.DefaultMetrics(sc.Load.Mode), ","), o.alpha, o.thresh*100)
	fmt.Fprintf(w, "machine: %d CPUs, %s; load average at start: %s\n", runtime.NumCPU(), pinDesc(cfg), loadavg())
	began := time.Now()

	seed := o.seed
	gateOnce := func(head []string) (gate.Report, error) {
		c := cfg
		c.Head = head
		c.Seed = seed
		seed++
		res, err := ab.Run(ctx, c)
		if err != nil {
			return gate.Report{}, err
		}
		return gate.Evaluate(gate.FromTrials(defs, res.Base, res.Head), gopts)
	}

	// The first A/A gate also measures the base CPU per request.
	first, err := gateOnce(base)
	if err != nil {
		return err
	}
	cpuRes := cpuResult(first)
	baseCPU := metrics.Median(append(slices.Clone(cpuRes.Base), cpuRes.Head...))
	if math.IsNaN(baseCPU) || baseCPU <= 0 {
		return fmt.Errorf("could not measure the base CPU per request: %s", cpuRes.Reason)
	}
	fmt.Fprintf(w, "base CPU per request: %.2f µs (median of %d trials)\n\n", baseCPU, len(cpuRes.Base)+len(cpuRes.Head))

	aa := newTally()
	record(w, aa, "A/A", 1, first)
	abT := make([]*tally, len(o.rises))
	burns := make([]time.Duration, len(o.rises))
	for j, r := range o.rises {
		abT[j] = newTally()
		burns[j] = time.Duration(math.Round(r*baseCPU*10)) * 100 * time.Nanosecond // 0.1 µs steps
	}
	for i := 1; i <= o.gates; i++ {
		for j := range o.rises {
			head := append(slices.Clone(base), "--burn", burns[j].String())
			rep, err := gateOnce(head)
			if err != nil {
				return err
			}
			record(w, abT[j], fmt.Sprintf("A/B +%s (burn %s)", pct(o.rises[j]), burns[j]), i, rep)
		}
		if i == 1 {
			continue // the first A/A gate ran above
		}
		rep, err := gateOnce(base)
		if err != nil {
			return err
		}
		record(w, aa, "A/A", i, rep)
	}

	fmt.Fprintf(w, "\nresults after %s (load average now: %s):\n", time.Since(began).Round(time.Second), loadavg())
	fmt.Fprintf(w, "  A/A false alarms (any metric REGRESSION): %d/%d  [CPU/req verdicts: %s; median |Δ| %s]\n",
		aa.overall[gate.Regressed], o.gates, verdictCounts(aa.verdicts), pct(medianAbs(aa.deltas)))
	for j, r := range o.rises {
		t := abT[j]
		fmt.Fprintf(w, "  A/B +%s CPU/req (burn %s): detected %d/%d  [CPU/req verdicts: %s; median Δ %s]\n",
			pct(r), burns[j], t.verdicts[gate.Regressed], o.gates, verdictCounts(t.verdicts), pct(metrics.Median(t.deltas)))
	}
	fmt.Fprintf(w, "  goal: 0/20 false alarms and ≥ 19/20 detections of +10%%\n")
	return nil
}

func cpuResult(rep gate.Report) gate.Result {
	for _, r := range rep.Results {
		if r.Name == gate.CPU {
			return r
		}
	}
	return gate.Result{}
}

func record(w io.Writer, t *tally, kind string, i int, rep gate.Report) {
	c := cpuResult(rep)
	t.verdicts[c.Verdict]++
	t.overall[rep.Verdict()]++
	if c.Verdict != gate.Failed {
		t.deltas = append(t.deltas, c.Delta())
	}
	fmt.Fprintf(w, "%-26s #%-3d CPU/req %+6.1f%% [%+.1f%%, %+.1f%%] p=%-8.2g %-12s overall %s\n", kind, i,
		c.Delta()*100, (c.RatioLo-1)*100, (c.RatioHi-1)*100, c.ShownP(), c.Verdict, rep.Verdict())
}

func verdictCounts(m map[gate.Verdict]int) string {
	var parts []string
	for _, v := range []gate.Verdict{gate.Regressed, gate.Improved, gate.NoChange, gate.Inconclusive, gate.Failed} {
		if m[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[v], v))
		}
	}
	return strings.Join(parts, ", ")
}

func medianAbs(xs []float64) float64 {
	a := make([]float64, len(xs))
	for i, x := range xs {
		a[i] = math.Abs(x)
	}
	return metrics.Median(a)
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

func pcts(fs []float64) string {
	var s []string
	for _, f := range fs {
		s = append(s, "+"+pct(f))
	}
	return strings.Join(s, ",")
}

func pinDesc(c ab.Config) string {
	if c.ServerCPUs == nil {
		return "not pinned"
	}
	return fmt.Sprintf("servers on CPUs %v, load generator on %v", c.ServerCPUs, c.ClientCPUs)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
