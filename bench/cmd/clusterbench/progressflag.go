package main

import (
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/progress"
)

// progressFlag is the --progress flag of run, load and ab.
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

// start resolves the mode against stderr (auto: tty on a terminal, else
// plain; -q alone: none) and returns a started Display on stderr, or nil
// for none. Close it once the run is done (it clears the live line).
func (p progressFlag) start(stderr io.Writer, quiet bool) *progress.Display {
	mode, _ := progress.Choose(p.value, isTerminal(stderr)) // checked when parsed
	if quiet && !p.explicit {
		mode = progress.None
	}
	if mode == progress.None {
		return nil
	}
	opt := progress.Options{Mode: mode}
	if f, ok := stderr.(*os.File); ok {
		opt.Width = progress.TerminalWidth(f)
	}
	d := progress.New(stderr, opt)
	d.Start()
	return d
}
