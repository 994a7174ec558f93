package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/clusterbench/clusterbench/bench/calcbatch"
	"github.com/clusterbench/clusterbench/servers/calc"
	"github.com/clusterbench/clusterbench/servers/workload"
)

// MaxCalcBatches bounds the calc: section.
const MaxCalcBatches = 64

// calcKinds are the kinds a calc batch may name.
var calcKinds = append(slices.Clone(workload.Kinds), calcbatch.KindMix)

// calcs parses the calc: section: a list of batches, each checked with the
// same rules as `clusterbench calc` (calcbatch.Config.Validate).
func (p *parser) calcs(n *yaml.Node) []Calc {
	var out []Calc
	names := map[string]string{}
	p.list(n, "calc", "a list of calc batches, each with model:, kind: and n:", func(i int, item *yaml.Node) {
		if i >= MaxCalcBatches {
			if i == MaxCalcBatches {
				p.errorf(item, "calc", fmt.Sprintf("at most %d batches", MaxCalcBatches), "too many calc batches")
			}
			return
		}
		path := fmt.Sprintf("calc[%d]", i)
		c, ok := p.calc(item, path)
		if !ok {
			return
		}
		if first, dup := names[c.Name]; dup {
			p.errorf(item, path+".name", "a name used once among the calc batches", "%q is already the name of %s", c.Name, first)
			return
		}
		names[c.Name] = path
		out = append(out, c)
	})
	return out
}

func (p *parser) calc(n *yaml.Node, path string) (Calc, bool) {
	c := Calc{Line: n.Line}
	errs := len(p.errs)
	nodes := map[string]*yaml.Node{}
	keep := func(key string, v *yaml.Node) { nodes[key] = v }
	var nameGiven bool
	p.mapping(n, path, []field{
		{"name", func(v *yaml.Node) { nameGiven = true; c.Name = p.name(v, path+".name") }},
		{"model", func(v *yaml.Node) {
			keep("model", v)
			if m, ok := p.str(v, path+".model"); ok {
				if !slices.Contains(calc.Models, m) {
					p.errorf(v, path+".model", strings.Join(calc.Models, ", "), "%q is not a calc model", m)
				}
				c.Model = m
			}
		}},
		{"workers", func(v *yaml.Node) {
			keep("workers", v)
			c.Workers, _ = p.intIn(v, path+".workers", 1, calcbatch.MaxWorkers)
		}},
		{"kind", func(v *yaml.Node) {
			keep("kind", v)
			if k, ok := p.str(v, path+".kind"); ok {
				if !slices.Contains(calcKinds, workload.Kind(k)) {
					p.errorf(v, path+".kind", strings.Join(kindNames(), ", "), "%q is not a calculation", k)
				}
				c.Kind = k
			}
		}},
		{"n", func(v *yaml.Node) {
			keep("n", v)
			x, _ := p.intIn(v, path+".n", 0, workload.MaxSum)
			c.N = int64(x)
		}},
		{"tasks", func(v *yaml.Node) { keep("tasks", v); c.Tasks, _ = p.intIn(v, path+".tasks", 1, calcbatch.MaxTasks) }},
		{"inflight", func(v *yaml.Node) {
			keep("inflight", v)
			c.Inflight, _ = p.intIn(v, path+".inflight", 1, calc.MaxInflight)
		}},
		{"trials", func(v *yaml.Node) {
			keep("trials", v)
			c.Trials, _ = p.intIn(v, path+".trials", 1, calcbatch.MaxTrials)
		}},
	})
	if n.Kind != yaml.MappingNode {
		return c, false
	}
	for _, req := range []struct{ key, allowed string }{
		{"model", strings.Join(calc.Models, ", ")},
		{"kind", strings.Join(kindNames(), ", ")},
		{"n", "the argument of every task, within the kind's bounds"},
	} {
		if nodes[req.key] == nil {
			p.errorf(n, path+"."+req.key, req.allowed, "missing")
		}
	}
	if len(p.errs) != errs {
		return c, false
	}
	// The same rules as the calc command, on a copy: Workers 0 stays "the
	// runner's GOMAXPROCS" rather than this machine's.
	cfg := calcbatch.Config{Model: c.Model, Workers: c.Workers, Kind: c.Kind, N: c.N, Tasks: c.Tasks, Inflight: c.Inflight, Trials: c.Trials}
	if c.Model == calc.ModelInline && c.Workers == 0 {
		cfg.Workers = 1
	}
	if err := cfg.Validate(); err != nil {
		at := n
		var ce *calcbatch.ConfigError
		field := path
		if errors.As(err, &ce) {
			field = path + "." + ce.Field
			if v := nodes[ce.Field]; v != nil {
				at = v
			}
			p.errorf(at, field, "", "%s", ce.Problem)
		} else {
			p.errorf(at, field, "", "%v", err)
		}
		return c, false
	}
	c.Tasks, c.Trials, c.Inflight = cfg.Tasks, cfg.Trials, cfg.Inflight
	if c.Model == calc.ModelInline {
		c.Workers = 1
	}
	if !nameGiven {
		c.Name = calcbatch.Name(c.Model, c.Workers, c.Kind, c.N)
	}
	return c, c.Name != ""
}

func kindNames() []string {
	s := make([]string, len(calcKinds))
	for i, k := range calcKinds {
		s[i] = string(k)
	}
	return s
}
