package main

import (
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/progress"
	"github.com/clusterbench/clusterbench/bench/runner"
)

// progressFlag is the --progress flag of run and load.
type progressFlag struct {
	value    string
	explicit bool // given on the command line (it then overrides -q)
}

func addProgressFlag(fs *pflag.FlagSet, p *progressFlag) {
	fs.StringVar(&p.value, "progress", progress.FlagAuto, progressUsage)
}

// check validates the value after parsing (a usage error when unknown).
func (p *progressFlag) check(fs *pflag.FlagSet) error {
	p.explicit = fs.Changed("progress")
	if _, err := progress.Choose(p.value, false); err != nil {
		return usageError("--progress: %v", err)
	}
	return nil
}

// attach resolves the mode against stderr (auto: tty on a terminal, else
// plain; -q alone: none) and, unless it is none, points r's lines and
// events at a started Display on stderr. The returned stop closes it
// (clearing the live line); call it once r is done.
func (p progressFlag) attach(r *runner.Runner, stderr io.Writer, quiet bool) (stop func()) {
	mode, _ := progress.Choose(p.value, isTerminal(stderr)) // checked when parsed
	if quiet && !p.explicit {
		mode = progress.None
	}
	if mode == progress.None {
		return func() {}
	}
	opt := progress.Options{Mode: mode}
	if f, ok := stderr.(*os.File); ok {
		opt.Width = progress.TerminalWidth(f)
	}
	d := progress.New(stderr, opt)
	d.Start()
	r.Progress, r.Events = d, d.Event
	return func() { _ = d.Close() }
}
