package faults

import (
	"slices"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Summarize aggregates the fault events of trials into one FaultSummary
// per server × level × fault, in the order they first appear: the median
// and interval across the measured trials (metrics.Measured) of each
// figure, over the trials where the fault was applied; recovery,
// replacement, respawn and exit times over the trials where they
// happened. A crash loop adds its kills, the first, last and slowest
// restart of each trial (over the trials with one), and the trials where
// the master gave up.
func Summarize(trials []results.Trial) []results.FaultSummary {
	type key struct {
		server       string
		level, index int
	}
	var order []key
	rows := map[key][]results.Trial{}
	for _, t := range trials {
		for _, ev := range t.Faults {
			k := key{t.Server, t.Level, ev.Index}
			if _, ok := rows[k]; !ok {
				order = append(order, k)
			}
			rows[k] = append(rows[k], t)
		}
	}
	out := make([]results.FaultSummary, 0, len(order))
	for _, k := range order {
		ts := metrics.Measured(rows[k])
		s := results.FaultSummary{Server: k.server, Level: k.level, Index: k.index, Trials: len(ts)}
		var failed, refused, reset, closed, timeout, s5xx, other, recovery, worst, repl, respawn, exit []float64
		var kills, first, last, slowest []float64
		for _, t := range ts {
			var ev results.FaultEvent
			for _, e := range t.Faults {
				if e.Index == k.index {
					ev = e
				}
			}
			s.Name, s.AtMs = ev.Name, ev.PlannedMs
			if !ev.Applied {
				s.NotApplied++
				continue
			}
			f := ev.Failed
			failed = append(failed, float64(f.Total()))
			refused = append(refused, float64(f.Refused))
			reset = append(reset, float64(f.Reset))
			closed = append(closed, float64(f.Closed))
			timeout = append(timeout, float64(f.Timeout))
			s5xx = append(s5xx, float64(f.Status5xx))
			other = append(other, float64(f.Other))
			worst = append(worst, ev.WorstMs)
			switch {
			case ev.RecoveryMs != nil:
				recovery = append(recovery, *ev.RecoveryMs)
			case ev.TooLate:
				s.TooLate++
			case ev.ExitMs == nil:
				s.NotRecovered++
			}
			if ev.ReplacementMs != nil {
				repl = append(repl, *ev.ReplacementMs)
			} else {
				s.NotReplaced++
			}
			if ev.RespawnMs != nil {
				respawn = append(respawn, *ev.RespawnMs)
			}
			if ev.ExitMs != nil {
				exit = append(exit, *ev.ExitMs)
			}
			if ev.Kills > 0 {
				kills = append(kills, float64(ev.Kills))
			}
			if n := len(ev.RestartMs); n > 0 {
				first = append(first, ev.RestartMs[0])
				last = append(last, ev.RestartMs[n-1])
				slowest = append(slowest, slices.Max(ev.RestartMs))
			}
			if ev.GaveUp {
				s.GaveUp++
			}
		}
		s.Failed, s.Refused, s.Reset, s.Closed = metrics.Estimate(failed), metrics.Estimate(refused), metrics.Estimate(reset), metrics.Estimate(closed)
		s.Timeout, s.Status5xx, s.Other = metrics.Estimate(timeout), metrics.Estimate(s5xx), metrics.Estimate(other)
		s.RecoveryMs, s.WorstMs, s.ReplacementMs = metrics.Estimate(recovery), metrics.Estimate(worst), metrics.Estimate(repl)
		s.RespawnMs, s.ExitMs = metrics.Estimate(respawn), metrics.Estimate(exit)
		s.Kills, s.FirstRestartMs, s.LastRestartMs, s.MaxRestartMs = metrics.Estimate(kills), metrics.Estimate(first), metrics.Estimate(last), metrics.Estimate(slowest)
		out = append(out, s)
	}
	return out
}
