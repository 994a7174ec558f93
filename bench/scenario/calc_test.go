package scenario

import (
	"reflect"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/calcbatch"
)

func TestParseCalc(t *testing.T) {
	src := doc(okServers, okRequests, okLoad, `calc:
  - model: process
    workers: 2
    kind: sum
    n: 1
    tasks: 100000
    inflight: 128
  - {model: goroutine, kind: fibonacci, n: 27, trials: 5}
  - {name: solo, model: inline, kind: mix, n: 20}
`)
	s, err := Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Calc{
		{Name: "process2-sum-1", Model: "process", Workers: 2, Kind: "sum", N: 1, Tasks: 100000, Inflight: 128, Trials: 3, Line: 9},
		{Name: "goroutine-fibonacci-27", Model: "goroutine", Kind: "fibonacci", N: 27, Tasks: 10000, Trials: 5, Line: 15},
		{Name: "solo", Model: "inline", Workers: 1, Kind: "mix", N: 20, Tasks: 10000, Trials: 3, Line: 16},
	}
	if !reflect.DeepEqual(s.Calc, want) {
		t.Errorf("calc =\n%+v\nwant\n%+v", s.Calc, want)
	}
	s, err = Parse("x.yaml", []byte(doc(okServers, okRequests, okLoad, "")))
	if err != nil || s.Calc != nil {
		t.Errorf("no calc section: %v, %+v", err, s.Calc)
	}
}

func TestParseCalcErrors(t *testing.T) {
	tests := []struct {
		name, calc string
		want       []string
	}{
		{"not a list", "calc: sum\n", []string{`x.yaml:8: calc: "sum" is not a list (allowed: a list of calc batches, each with model:, kind: and n:)`}},
		{"missing fields", "calc:\n  - {workers: 2}\n", []string{
			"x.yaml:9: calc[0].model: missing (allowed: inline, goroutine, process)",
			"x.yaml:9: calc[0].kind: missing (allowed: factorial, sum, primes, fibonacci, mix)",
			"x.yaml:9: calc[0].n: missing (allowed: the argument of every task, within the kind's bounds)"}},
		{"bad model and kind", "calc:\n  - {model: threads, kind: pi, n: 1}\n", []string{
			`x.yaml:9: calc[0].model: "threads" is not a calc model (allowed: inline, goroutine, process)`,
			`x.yaml:9: calc[0].kind: "pi" is not a calculation (allowed: factorial, sum, primes, fibonacci, mix)`}},
		{"n beyond the kind", "calc:\n  - model: process\n    kind: fibonacci\n    n: 41\n", []string{
			"x.yaml:11: calc[0].n: fibonacci: n=41 out of range (allowed: 0..40)"}},
		{"inflight without processes", "calc:\n  - {model: goroutine, kind: sum, n: 1, inflight: 8}\n", []string{
			"x.yaml:9: calc[0].inflight: 8: only the process model has in-flight credits (allowed: 0 with --model goroutine)"}},
		{"unknown field", "calc:\n  - {model: inline, kind: sum, n: 1, kill: 3}\n", []string{
			"x.yaml:9: calc[0].kill: unknown field (allowed: name, model, workers, kind, n, tasks, inflight, trials)"}},
		{"duplicate names", "calc:\n  - {model: inline, kind: sum, n: 1}\n  - {model: inline, kind: sum, n: 1}\n", []string{
			`x.yaml:10: calc[1].name: "inline-sum-1" is already the name of calc[0] (allowed: a name used once among the calc batches)`}},
		{"tasks out of range", "calc:\n  - {model: inline, kind: sum, n: 1, tasks: 0}\n", []string{
			"x.yaml:9: calc[0].tasks: 0 is out of range (allowed: 1..10000000)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(doc(okServers, okRequests, okLoad, tt.calc)))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// FuzzParseCalc: every calc batch Parse accepts passes the calc command's
// own validation and has a unique name.
func FuzzParseCalc(f *testing.F) {
	f.Add([]byte(doc(okServers, okRequests, okLoad, "calc:\n  - {model: process, workers: 2, kind: sum, n: 1, inflight: 8}\n")))
	f.Add([]byte(doc(okServers, okRequests, okLoad, "calc:\n  - {model: inline, kind: mix, n: 40, tasks: 5, trials: 1}\n")))
	f.Add([]byte(doc(okServers, okRequests, okLoad, "calc:\n  - {name: a, model: goroutine, kind: primes, n: 0}\n  - {name: a, model: inline, kind: sum, n: 2}\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		names := map[string]bool{}
		for _, c := range s.Calc {
			cfg := calcbatch.Config{Model: c.Model, Workers: c.Workers, Kind: c.Kind, N: c.N, Tasks: c.Tasks, Inflight: c.Inflight, Trials: c.Trials}
			if err := cfg.Validate(); err != nil || c.Name == "" || names[c.Name] || c.Tasks < 1 || c.Trials < 1 {
				t.Fatalf("accepted an invalid calc batch %+v: %v", c, err)
			}
			names[c.Name] = true
		}
	})
}
