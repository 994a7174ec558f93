package report

import (
	"fmt"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// The fixtures are hand-made runs: every number below is invented by a
// formula, none was measured. TestFixtureFiles keeps testdata/*/summary.json
// in step with them; the golden tests render those files.

var fixtureStart = time.Date(2026, 11, 25, 19, 30, 0, 0, time.UTC)

func fixtureEnv() results.Environment {
	return results.Environment{
		Hostname: "fixture-host", OS: "linux", Arch: "amd64", CPUs: 2, CPUModel: "Example CPU @ 2.00GHz",
		Kernel: "6.1.0-fixture", GoVersion: "go1.26.8", GOMAXPROCS: 1,
		GitCommit: "0123456789abcdef0123456789abcdef01234567", GitDirty: true,
		Args:       []string{"clusterbench", "run", "scenarios/fixture.yaml", "--trials", "6"},
		ServerCPUs: "0", ClientCPUs: "1", Pinning: "servers on CPU 0, load generator on CPU 1 (auto split of 2 CPUs)",
	}
}

// jitter is a deterministic ±2% wobble by trial number.
func jitter(trial int) float64 { return 1 + float64((trial*7)%5-2)/100 }

func fixtureTrial(server string, level, trial int, rps, p50 float64, shares []float64, pids []int) results.Trial {
	const dur = 2.0
	j := jitter(trial)
	req := int64(rps * j * dur)
	t := results.Trial{
		Server: server, Level: level, Trial: trial, DurationS: dur,
		Requests: req, Successes: req, SuccessRatio: 1,
		Throughput: float64(req) / dur, AchievedRate: float64(req) / dur,
		Latency: results.Latency{
			MeanMs: p50 * 1.1 / j, P50Ms: p50 / j, P90Ms: p50 * 1.8 / j, P99Ms: p50 * 3.5 / j, P999Ms: p50 * 6 / j, MaxMs: p50 * 9 / j,
		},
		StatusCodes: map[string]int64{"200": req},
		ClientCPUS:  0.9 * dur, ClientCPUUtil: 0.45 * j,
		ServerCPUS: float64(req) * 40e-6 * j,
	}
	t.ServerCPUPerReqUs = t.ServerCPUS / float64(req) * 1e6
	var counts []int64
	for i, sh := range shares {
		n := int64(float64(req) * sh)
		w := results.Worker{
			ID: fmt.Sprint(i), Pids: []int{pids[i]}, Requests: n, Connections: max(int64(level)/int64(len(shares)), 1),
			P50Ms: t.Latency.P50Ms * (1 + float64(i)/10), P99Ms: t.Latency.P99Ms * (1 + float64(i)/10),
		}
		counts = append(counts, n)
		t.Workers = append(t.Workers, w)
	}
	metrics.SetShares(t.Workers)
	t.Fairness = metrics.Fairness(counts, len(shares))
	return t
}

func closedFixture() *results.Run {
	run := &results.Run{
		Schema:   results.Schema,
		Scenario: results.ScenarioInfo{Name: "fixture", Description: "hand-made closed-loop run for golden tests", File: "scenarios/fixture.yaml"},
		Started:  fixtureStart, Finished: fixtureStart.Add(3*time.Minute + 12*time.Second),
		Complete: true, Env: fixtureEnv(),
		Load: results.LoadInfo{Mode: "closed", Levels: []int{1, 8}, DurationS: 2, WarmupS: 0.5, Trials: 6, KeepAlive: true,
			Requests: []results.Request{{Method: "GET", Path: "/", Weight: 3}, {Method: "GET", Path: "/calc/fibonacci?n=20", Weight: 1}}},
		Servers: []results.Server{
			{Name: "single", Command: []string{"bin/clusterbench", "serve", "--model", "single", "--addr", "127.0.0.1:0"}, Model: "single", Workers: 1},
			{Name: "pool", Command: []string{"bin/clusterbench", "serve", "--model", "pool", "--workers", "2", "--addr", "127.0.0.1:0"}, Model: "pool", Workers: 2},
			{Name: "prefork", Command: []string{"bin/clusterbench", "serve", "--model", "prefork", "--workers", "2", "--balance", "shared", "--addr", "127.0.0.1:0"}, Model: "prefork", Workers: 2, Balance: "shared"},
			{Name: "node-rr", Command: []string{"node", "servers/node/cluster.js"}, Env: []string{"NODE_CLUSTER_SCHED_POLICY=rr"}},
		},
	}
	for _, level := range run.Load.Levels {
		scale := float64(level)
		for trial := 1; trial <= 6; trial++ {
			run.Trials = append(run.Trials,
				fixtureTrial("single", level, trial, 9000*min(scale, 1.4), 0.11*scale/min(scale, 1.4), []float64{1}, []int{4100}),
				fixtureTrial("pool", level, trial, 8000*min(scale, 1.6), 0.12*scale/min(scale, 1.6), []float64{0.5, 0.5}, []int{4200, 4200}),
			)
			pf := fixtureTrial("prefork", level, trial, 8500*min(scale, 1.8), 0.115*scale/min(scale, 1.8), []float64{0.8, 0.2}, []int{4301, 4302})
			if level == 8 && trial == 2 {
				pf.Successes = pf.Requests - 17
				pf.SuccessRatio = float64(pf.Successes) / float64(pf.Requests)
				pf.Throughput = float64(pf.Successes) / pf.DurationS
				pf.StatusCodes = map[string]int64{"200": pf.Successes, "503": 17}
				pf.Errors = map[string]int64{"503 Service Unavailable": 17}
				pf.Workers[1].Errors = 17
			}
			node := fixtureTrial("node-rr", level, trial, 6000*min(scale, 1.7), 0.16*scale/min(scale, 1.7), []float64{0.5, 0.5}, []int{5001, 5002})
			if trial == 4 {
				node.Workers[1].Pids = []int{5002, 5003} // a restarted worker
			}
			if level == 8 && trial == 3 {
				node.ClientBound = true
			}
			if level == 1 { // CPU time not measured: the table shows "-"
				node.ServerCPUS, node.ServerCPUPerReqUs = 0, 0
			}
			run.Trials = append(run.Trials, pf, node)
		}
	}
	run.Summary = metrics.Summarize(run.Trials, run.Servers)
	return run
}

func openFixture() *results.Run {
	run := &results.Run{
		Schema:   results.Schema,
		Scenario: results.ScenarioInfo{Name: "fixture-open", Description: "hand-made open-loop run, interrupted"},
		Started:  fixtureStart, Finished: fixtureStart.Add(9 * time.Second),
		Complete: false, Incomplete: "interrupted (SIGINT) during prefork-rr at rate 2000, trial 2",
		Env: fixtureEnv(),
		Load: results.LoadInfo{Mode: "open", Levels: []int{500, 2000}, DurationS: 1.5, WarmupS: 0, Trials: 2, KeepAlive: false,
			Requests: []results.Request{{Method: "GET", Path: "/", Weight: 1}}},
		Servers: []results.Server{
			{Name: "prefork-rr", Command: []string{"bin/clusterbench", "serve", "--model", "prefork", "--workers", "3", "--balance", "roundrobin"}, Model: "prefork", Workers: 3, Balance: "roundrobin"},
		},
		Warnings: []string{"load generator CPU above 90% at rate 2000: latency may include client queueing"},
	}
	run.Env.ServerCPUs, run.Env.ClientCPUs, run.Env.Pinning = "", "", "off (scenario pin: off)"
	for trial := 1; trial <= 2; trial++ {
		t := fixtureTrial("prefork-rr", 500, trial, 500, 0.2, []float64{0.34, 0.33, 0.33}, []int{6001, 6002, 6003})
		t.TargetRate = 500
		run.Trials = append(run.Trials, t)
	}
	t := fixtureTrial("prefork-rr", 2000, 1, 1700, 4.5, []float64{0.5, 0.5}, []int{6001, 6002})
	t.TargetRate = 2000
	t.RateShortfall = metrics.RateShortfall(t.TargetRate, t.AchievedRate)
	t.ClientBound = true
	t.Fairness = metrics.Fairness([]int64{t.Workers[0].Requests, t.Workers[1].Requests}, 3) // the third child never answered
	run.Trials = append(run.Trials, t)
	cut := fixtureTrial("prefork-rr", 2000, 2, 900, 9, []float64{0.5, 0.5}, []int{6001, 6002}) // the interrupted trial
	cut.TargetRate, cut.DurationS, cut.Cut = 2000, 0.2, true
	run.Trials = append(run.Trials, cut)
	run.Summary = metrics.Summarize(run.Trials, run.Servers)
	return run
}
