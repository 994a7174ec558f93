package gate

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// configKey is what benchfmt's reader accepts as a file-level config key:
// a lower-case letter first, no spaces, no upper case.
var configKey = regexp.MustCompile(`^[a-z][^\sA-Z:]*$`)

// benchName is the benchmark name (without the "Benchmark" prefix): the
// label's Bench with spaces replaced, or "Gate".
func benchName(l Labels) string {
	if l.Bench == "" {
		return "Gate"
	}
	return strings.Join(strings.Fields(l.Bench), "_")
}

// WriteBenchfmt writes every sample in the Go benchmark format, one
// result line per trial value, in two blocks told apart by the file
// config `arm: base|head`, with `Unit … better=` metadata for every unit,
// so `benchstat -col /arm FILE` (or `benchstat -col arm`) reads it.
func WriteBenchfmt(w io.Writer, rep Report, l Labels) error {
	for _, kv := range slices.Concat(l.Config, l.BaseConfig, l.HeadConfig) {
		if !configKey.MatchString(kv[0]) {
			return fmt.Errorf("benchfmt config key %q is not lower-case without spaces", kv[0])
		}
	}
	bw := benchfmt.NewWriter(w)
	seen := map[string]bool{}
	for _, r := range rep.Results {
		if seen[r.BenchUnit] {
			continue
		}
		seen[r.BenchUnit] = true
		if err := bw.Write(&benchfmt.UnitMetadata{
			UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: r.BenchUnit, Key: "better"},
			OrigUnit:        r.BenchUnit, Value: r.Better.String(),
		}); err != nil {
			return err
		}
	}
	name := benchName(l)
	for _, arm := range []string{"base", "head"} {
		for _, r := range rep.Results {
			vals := r.Base
			if arm == "head" {
				vals = r.Head
			}
			for _, v := range vals {
				bn := name
				if r.Group != "" {
					bn += "/" + strings.Join(strings.Fields(r.Group), "_")
				}
				res := &benchfmt.Result{Name: benchfmt.Name(bn), Iters: 1,
					Values: []benchfmt.Value{{Value: v * r.BenchMul, Unit: r.BenchUnit}}}
				res.Config = append(res.Config, benchfmt.Config{Key: "goos", Value: []byte(runtime.GOOS), File: true},
					benchfmt.Config{Key: "goarch", Value: []byte(runtime.GOARCH), File: true})
				armConfig := l.BaseConfig
				if arm == "head" {
					armConfig = l.HeadConfig
				}
				for _, kv := range slices.Concat(l.Config, armConfig) {
					res.Config = append(res.Config, benchfmt.Config{Key: kv[0], Value: []byte(kv[1]), File: true})
				}
				res.Config = append(res.Config, benchfmt.Config{Key: "arm", Value: []byte(arm), File: true})
				if err := bw.Write(res); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
