//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/metrics"
)

// measureOpen runs the lean engine open loop against every server at each
// of o.openFractions of its median closed-loop req/s in closed, with the
// warm-up, duration and pinning of the closed loop. Each round measures
// every fraction against every server, in that order.
func measureOpen(ctx context.Context, w io.Writer, o options, cpus []int, targets []target, closed []sample) ([]sample, error) {
	maxes := closedMax(closed)
	var out []sample
	for r := 1; r <= o.openRounds; r++ {
		for _, t := range targets {
			top, ok := maxes[t.name]
			if !ok {
				return nil, fmt.Errorf("open loop against %s: no closed-loop %s measurement to take the rate from", t.name, load.EngineLean)
			}
			for _, f := range o.openFractions {
				cfg := load.Config{Mode: load.Open, Level: askedRate(top, f), Engine: load.EngineLean}
				if o.warmup > 0 {
					if _, err := runEngine(ctx, cpus, cfg, t.url, o.warmup); err != nil {
						return nil, fmt.Errorf("open round %d: warm-up at %d req/s against %s: %w", r, cfg.Level, t.name, err)
					}
				}
				s, err := runEngine(ctx, cpus, cfg, t.url, o.duration)
				if err != nil {
					return nil, fmt.Errorf("open round %d: %d req/s against %s: %w", r, cfg.Level, t.name, err)
				}
				s.round, s.mode, s.server, s.gen, s.fraction, s.asked = r, load.Open, t.name, load.EngineLean, f, cfg.Level
				out = append(out, s)
				fmt.Fprintf(w, "open %d/%d   %-6s %-6s %4.2f× %7d asked %9.0f sent/s  p50 %7.2f ms  p99 %7.2f ms %7.1f µs/req %d dropped %d errors%s\n",
					r, o.openRounds, t.name, s.gen, f, s.asked, s.achieved, s.p50, s.p99, s.cpuPerReq(), s.dropped, s.errors, notes(s))
			}
		}
	}
	return out, nil
}

// closedMax is, per server, the median req/s of the lean engine's
// closed-loop samples: the rate the open-loop fractions are taken of.
func closedMax(closed []sample) map[string]float64 {
	rps := map[string][]float64{}
	for _, s := range closed {
		if s.mode == load.Closed && s.gen == load.EngineLean {
			rps[s.server] = append(rps[s.server], s.rps())
		}
	}
	out := make(map[string]float64, len(rps))
	for server, xs := range rps {
		if e := metrics.Estimate(xs); e.N > 0 {
			out[server] = e.Median
		}
	}
	return out
}

// askedRate is fraction f of top req/s, rounded to a whole rate of at
// least 1 req/s.
func askedRate(top, f float64) int {
	return max(1, int(math.Round(top*f)))
}

// measureOverhead is what one measurement costs beyond its warm-up and
// duration, on average (a wrk child's start and exit; an overloaded open
// loop waits up to its p99 for its last answers), from runs on a 2-CPU
// machine.
const measureOverhead = 250 * time.Millisecond

// estimate says how long a run with o will take against servers servers
// with gens closed-loop generators, the open loop included when open.
func estimate(o options, servers, gens int, open bool) string {
	each := o.warmup + o.duration + measureOverhead
	closed := time.Duration(o.rounds*servers*gens) * each
	parts := []string{fmt.Sprintf("closed loop %d rounds × %d servers × %d generators × %s = %s",
		o.rounds, servers, gens, each, closed.Round(time.Second))}
	total := closed
	if open {
		d := time.Duration(o.openRounds*servers*len(o.openFractions)) * each
		parts = append(parts, fmt.Sprintf("open loop %d rounds × %d servers × %d rates × %s = %s",
			o.openRounds, servers, len(o.openFractions), each, d.Round(time.Second)))
		total += d
	}
	return fmt.Sprintf("about %s (%s)", total.Round(time.Second), strings.Join(parts, "; "))
}
