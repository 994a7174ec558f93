package faults

import (
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Summarize aggregates the fault events of trials into one FaultSummary
// per server × level × fault, in the order they first appear: the median
// and interval across the measured trials (metrics.Measured) of each
// figure, over the trials where the fault was applied; recovery,
// replacement, respawn and exit times over the trials where they
// happened.
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
		}
		s.Failed, s.Refused, s.Reset, s.Closed = metrics.Estimate(failed), metrics.Estimate(refused), metrics.Estimate(reset), metrics.Estimate(closed)
		s.Timeout, s.Status5xx, s.Other = metrics.Estimate(timeout), metrics.Estimate(s5xx), metrics.Estimate(other)
		s.RecoveryMs, s.WorstMs, s.ReplacementMs = metrics.Estimate(recovery), metrics.Estimate(worst), metrics.Estimate(repl)
		s.RespawnMs, s.ExitMs = metrics.Estimate(respawn), metrics.Estimate(exit)
		out = append(out, s)
	}
	return out
}
