package htmlreport

import (
	"fmt"
	"strings"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Section titles of report.html, in page order.
const (
	SectionThroughput = "Throughput"
	SectionLatency    = "Latency percentile spectrum"
	SectionCPU        = "Server CPU per request"
	SectionWorkers    = "Requests per worker"
	SectionCalc       = "Calc batches"
)

// RunSections draws the charts of a run, section by section: the
// timelines of a fault scenario (faultFigures), throughput,
// latency spectra, server CPU per request and per-worker shares when the
// run measured servers, calc batches (with the parallel efficiencies effs)
// when it ran some. The server colours are the same in every chart
// (ServerPalette).
func RunSections(run *results.Run, effs []Efficiency) ([]Section, error) {
	var secs []Section
	if len(run.Summary) > 0 {
		pal := ServerPalette(run)
		ff, err := faultFigures(run, pal)
		if err != nil {
			return nil, fmt.Errorf("faults: %w", err)
		}
		if len(ff) > 0 { // a fault scenario is about its faults: first
			secs = append(secs, Section{Title: SectionFaults, Figures: ff})
		}
		tp, err := throughputFigure(run, pal)
		if err != nil {
			return nil, fmt.Errorf("throughput: %w", err)
		}
		secs = append(secs, Section{Title: SectionThroughput, Figures: []Figure{tp}})
		lat, err := latencySection(run, pal)
		if err != nil {
			return nil, fmt.Errorf("latency: %w", err)
		}
		secs = append(secs, lat)
		cpu, err := cpuFigure(run, pal)
		if err != nil {
			return nil, fmt.Errorf("server CPU: %w", err)
		}
		secs = append(secs, Section{Title: SectionCPU, Figures: []Figure{cpu}})
		wf, single, err := workerFigures(run, pal)
		if err != nil {
			return nil, fmt.Errorf("workers: %w", err)
		}
		ws := Section{Title: SectionWorkers, Figures: wf}
		if len(single) > 0 {
			ws.Intro = "One worker answered every request of " + strings.Join(single, ", ") + " at every level (its share is 100%): no chart."
		}
		secs = append(secs, ws)
	}
	if len(run.Calc) > 0 {
		cf, err := calcFigures(run, effs)
		if err != nil {
			return nil, fmt.Errorf("calc: %w", err)
		}
		secs = append(secs, Section{Title: SectionCalc, Figures: cf})
	}
	return secs, nil
}
