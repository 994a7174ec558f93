//go:build linux

package main

import (
	"fmt"
	"strconv"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/report"
)

// summarise gives one row per server × generator of the closed-loop
// samples, in the order first measured: medians over the rounds, and
// medians of the per-round ratios to wrk against the same server.
func summarise(samples []sample) report.Table {
	type key struct{ server, gen string }
	type values struct {
		rps, cpu, rpsRatio, cpuRatio []float64
		errors                       int64
		bound                        int
		trial                        bool
	}
	type serverRound struct {
		server string
		round  int
	}
	wrk := map[serverRound]sample{} // wrk's sample of each server and round
	for _, s := range samples {
		if s.gen == "wrk" {
			wrk[serverRound{s.server, s.round}] = s
		}
	}
	var order []key
	byKey := map[key]*values{}
	for _, s := range samples {
		k := key{s.server, s.gen}
		v := byKey[k]
		if v == nil {
			v = &values{}
			byKey[k], order = v, append(order, k)
		}
		v.rps, v.cpu, v.errors = append(v.rps, s.rps()), append(v.cpu, s.cpuPerReq()), v.errors+s.errors
		v.trial = v.trial || s.trial
		if s.clientBound {
			v.bound++
		}
		if b, ok := wrk[serverRound{s.server, s.round}]; ok {
			v.rpsRatio = append(v.rpsRatio, s.rps()/b.rps())
			v.cpuRatio = append(v.cpuRatio, s.cpuPerReq()/b.cpuPerReq())
		}
	}
	t := report.Table{
		Title: "median per server and generator",
		Header: []string{"server", "generator", "req/s", "CPU µs/req", "req/s vs wrk", "CPU/req vs wrk",
			"client-bound", "errors", "rounds"},
		Align: []report.Align{report.Left, report.Left, report.Right, report.Right, report.Right, report.Right,
			report.Right, report.Right, report.Right},
		Notes: []string{
			"vs wrk: median of per-round ratios against the same server (1.00 = parity; CPU/req above 1 costs more than wrk)",
			boundLegend(),
		},
	}
	for _, k := range order {
		v := byKey[k]
		bound := "-"
		if v.trial {
			bound = ofRounds(v.bound, len(v.rps))
		}
		t.Rows = append(t.Rows, []string{k.server, k.gen, median(v.rps, 0), median(v.cpu, 1), median(v.rpsRatio, 2),
			median(v.cpuRatio, 2), bound, strconv.FormatInt(v.errors, 10), strconv.Itoa(len(v.rps))})
	}
	return t
}

// boundLegend is the note under a table with a client-bound column.
func boundLegend() string {
	return fmt.Sprintf("client-bound: rounds in which the engine used or waited for %.0f%% or more of its CPUs "+
		"(bench/load's flag; not measured for wrk)", metrics.ClientBoundUtil*100)
}

// summariseOpen gives one row per server × fraction of the open-loop
// samples, in the order first measured: medians over the rounds, next to
// the median closed-loop p50 of the lean engine against the same server.
func summariseOpen(open, closed []sample) report.Table {
	closedP50 := map[string][]float64{}
	for _, s := range closed {
		if s.gen == load.EngineLean {
			closedP50[s.server] = append(closedP50[s.server], s.p50)
		}
	}
	type key struct {
		server   string
		fraction float64
	}
	type values struct {
		asked               int
		sent, p50, p99, cpu []float64
		shortfall, bound    int
		dropped, errors     int64
	}
	var order []key
	byKey := map[key]*values{}
	for _, s := range open {
		k := key{s.server, s.fraction}
		v := byKey[k]
		if v == nil {
			v = &values{asked: s.asked}
			byKey[k], order = v, append(order, k)
		}
		v.sent, v.p50, v.p99, v.cpu = append(v.sent, s.achieved), append(v.p50, s.p50), append(v.p99, s.p99), append(v.cpu, s.cpuPerReq())
		v.dropped, v.errors = v.dropped+s.dropped, v.errors+s.errors
		if s.shortfall {
			v.shortfall++
		}
		if s.clientBound {
			v.bound++
		}
	}
	t := report.Table{
		Title: "open loop, " + load.EngineLean + ": median per server and rate",
		Header: []string{"server", "× max", "asked/s", "sent/s", "shortfall", "dropped", "p50 ms", "p99 ms",
			"CPU µs/req", "closed p50 ms", "open/closed p50", "client-bound", "errors"},
		Align: []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right, report.Right,
			report.Right, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right},
		Notes: []string{
			"× max: fraction of the " + load.EngineLean + " engine's median closed-loop req/s against the same server; asked/s: that rate, whole",
			fmt.Sprintf("sent/s: the achieved rate; shortfall: rounds that sent more than %.0f%% under asked; dropped: requests not sent, "+
				"more than %s late (all rounds)", metrics.ShortfallTolerance*100, load.MaxScheduleLag),
			"p50, p99: latency from each request's intended send time; closed p50: the " + load.EngineLean +
				" engine's closed-loop median against the same server; open/closed p50: the ratio of the two medians",
			boundLegend(),
		},
	}
	for _, k := range order {
		v := byKey[k]
		ratio := "-"
		if c := metrics.Estimate(closedP50[k.server]); c.N > 0 && c.Median > 0 {
			ratio = strconv.FormatFloat(metrics.Estimate(v.p50).Median/c.Median, 'f', 2, 64)
		}
		t.Rows = append(t.Rows, []string{k.server, strconv.FormatFloat(k.fraction, 'f', 2, 64), strconv.Itoa(v.asked),
			median(v.sent, 0), ofRounds(v.shortfall, len(v.sent)), strconv.FormatInt(v.dropped, 10),
			median(v.p50, 2), median(v.p99, 2), median(v.cpu, 1), median(closedP50[k.server], 2), ratio,
			ofRounds(v.bound, len(v.sent)), strconv.FormatInt(v.errors, 10)})
	}
	return t
}

// median formats the median of xs with prec decimals, "-" when there is
// none.
func median(xs []float64, prec int) string {
	if e := metrics.Estimate(xs); e.N > 0 {
		return strconv.FormatFloat(e.Median, 'f', prec, 64)
	}
	return "-"
}

// ofRounds is "yes/rounds": 3/5.
func ofRounds(yes, rounds int) string { return strconv.Itoa(yes) + "/" + strconv.Itoa(rounds) }

// roundsTable is rounds.csv: one row per measurement, raw numbers, closed
// loop then open loop. The columns after cpu_us_per_req are those of a
// bench/load engine (empty for wrk); asked, shortfall and dropped are
// those of the open loop (empty for the closed loop).
func roundsTable(samples []sample) report.Table {
	t := report.Table{Title: "rounds.csv", Header: []string{"mode", "round", "server", "generator", "asked", "requests", "errors",
		"wall_s", "cpu_s", "req_per_s", "cpu_us_per_req", "achieved_per_s", "p50_ms", "p99_ms", "client_bound",
		"shortfall", "dropped"}}
	g := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	for _, s := range samples {
		asked := ""
		if s.mode == load.Open {
			asked = strconv.Itoa(s.asked)
		}
		row := []string{s.mode, strconv.Itoa(s.round), s.server, s.gen, asked, strconv.FormatInt(s.requests, 10),
			strconv.FormatInt(s.errors, 10), g(s.wall.Seconds()), g(s.cpu.Seconds()), g(s.rps()), g(s.cpuPerReq())}
		engine := []string{"", "", "", "", "", ""}
		if s.trial {
			engine = []string{g(s.achieved), g(s.p50), g(s.p99), strconv.FormatBool(s.clientBound), "", ""}
			if s.mode == load.Open {
				engine[4], engine[5] = strconv.FormatBool(s.shortfall), strconv.FormatInt(s.dropped, 10)
			}
		}
		t.Rows = append(t.Rows, append(row, engine...))
	}
	return t
}
