package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/ab"
)

// Defaults of `clusterbench check`, the regression gate as CI runs it.
const (
	CheckScenario        = "scenarios/gate.yaml"
	CheckServer          = "serve --model single" // after the binary, on both sides
	CheckBaseline        = "gate-baseline"        // under results/
	CheckBaselineMetrics = "cpu"                  // what the saved form compares
	CheckNice            = -10
)

// savedBase is the --base value of the measured-apart form.
const savedBase = "saved"

type checkOptions struct {
	base            string
	scenario        string
	server          string
	baseline        string
	baselineMetrics string
	strictSaved     bool
	nice            int
	goCmd           string
	gateFlags       []string // --gate-flags, split, then the words after --
}

var checkHelp = cmdHelp{
	Usage: "clusterbench check [--base REV|saved] [flags] [-- GATE-FLAGS...]",
	About: `The regression gate as CI runs it. --base REV builds REV in a temporary git worktree and
runs 'clusterbench ab' on the scenario: REV's binary against this binary (build the working
tree first: make build), each started as "BINARY --server", in interleaved trials on this
machine, now. Without --base, REV is the commit the baseline was measured from (its
env.git_commit) when this clone has it; otherwise the saved form. --base saved runs the
scenario afresh and compares it with the baseline's saved numbers ('clusterbench compare'):
two runs measured apart follow the machine's load, not the code, so that form is advisory
(exit 0 whatever compare finds) unless --strict-saved. GATE-FLAGS after -- (or in
--gate-flags) go to ab or compare: --strict, --threshold, --metrics, --summary FILE, --junit
FILE, --benchfmt FILE. The servers and the load generator run at --nice when this process may
raise its priority. The worktree and the temporary files are removed at the end, also after
Ctrl-C (exit 3).`,
	Examples: []string{
		"clusterbench check --base origin/main   # this binary against a build of origin/main",
		"clusterbench check                      # against the commit results/gate-baseline was measured from",
		"clusterbench check --base saved         # a fresh run against saved numbers: advisory, measured apart",
		`clusterbench check --base origin/main -- --strict --summary "$GITHUB_STEP_SUMMARY" --junit perf-gate.xml`,
	},
	Exits: []string{
		exitOKLine + ": no regression (or inconclusive, without --strict; anything the saved form finds, without --strict-saved)",
		exitRegressionLine,
		exitUsageLine + "; or no commit REV",
		exitMeasurementLine + "; REV does not build; inconclusive under --strict; interrupted",
	},
}

func parseCheck(stdout io.Writer, args []string) (checkOptions, error) {
	var o checkOptions
	var gateFlags string
	fs := newFlags("check")
	fs.StringVar(&o.base, "base", "", "`REV` to gate against, built in a temporary git worktree; saved: the baseline's saved numbers (default: the commit the baseline was measured from, else saved)")
	fs.StringVar(&o.scenario, "scenario", CheckScenario, "scenario `FILE` of the gate")
	fs.StringVar(&o.server, "server", CheckServer, "the server's `ARGS` after the binary, the same on both sides")
	fs.StringVar(&o.baseline, "baseline", CheckBaseline, "the saved baseline: a `NAME` under "+BaselineDir+"/, a run directory or a summary.json")
	fs.StringVar(&o.baselineMetrics, "baseline-metrics", CheckBaselineMetrics, "`METRICS` the saved form compares, comma-separated")
	fs.BoolVar(&o.strictSaved, "strict-saved", false, "let the saved form fail with compare's exit code (without it the saved form exits 0)")
	fs.IntVar(&o.nice, "nice", CheckNice, "nice value `N` of the measurement when allowed (0 = leave the priority alone)")
	fs.StringVar(&o.goCmd, "go", "go", "the go `COMMAND` that builds REV")
	fs.StringVar(&gateFlags, "gate-flags", "", "GATE-FLAGS in one `STRING`, split like a shell's words; the words after -- follow them")
	if err := parseFlags(fs, checkHelp, stdout, args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 && fs.ArgsLenAtDash() != 0 {
		return o, usageError("check takes no arguments (got %q); flags for ab or compare go after --", fs.Args())
	}
	switch {
	case strings.HasPrefix(o.base, "-"):
		return o, usageError("--base %q: not a revision (allowed: a commit, branch or tag, or saved)", o.base)
	case o.nice < -20 || o.nice > 19:
		return o, usageError("--nice %d out of range (allowed: -20..19)", o.nice)
	case o.goCmd == "":
		return o, usageError("--go: empty command")
	}
	if _, err := ab.SplitCommand(o.server); err != nil {
		return o, usageError("--server: %v", err)
	}
	if _, err := os.Stat(o.scenario); err != nil {
		return o, usageError("--scenario: %v (nothing was built or measured)", err)
	}
	if strings.TrimSpace(gateFlags) != "" {
		words, err := ab.SplitCommand(gateFlags)
		if err != nil {
			return o, usageError("--gate-flags: %v", err)
		}
		o.gateFlags = words
	}
	o.gateFlags = append(o.gateFlags, fs.Args()...)
	return o, nil
}

// checkTools are what check starts: git and go as commands, and ab, run
// and compare in-process. Tests replace them with fakes.
type checkTools struct {
	// command runs argv in dir ("" = the current directory) and returns
	// its combined output.
	command          func(ctx context.Context, dir string, argv ...string) ([]byte, error)
	ab, run, compare func(ctx context.Context, stdout, stderr io.Writer, args []string) error
	executable       func() (string, error)
	renice           func(nice int) error
	tempDir          string // parent of the temporary directory; "" = $TMPDIR
}

func runCheck(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	return checkWith(ctx, stdout, stderr, args, checkTools{
		command: combinedOutput, ab: runAB, run: runRun, compare: runCompare,
		executable: os.Executable, renice: renice,
	})
}

// checker is one run of check.
type checker struct {
	o              checkOptions
	t              checkTools
	stdout, stderr io.Writer
}

// checkWith is check with its tools. Ctrl-C or SIGTERM cancels the
// measurement; the signals stay caught until the worktree is removed.
func checkWith(ctx context.Context, stdout, stderr io.Writer, args []string, t checkTools) error {
	o, err := parseCheck(stdout, args)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	c := &checker{o: o, t: t, stdout: stdout, stderr: stderr}
	var recorded, where string
	if o.base == "" {
		recorded, where = c.recordedCommit()
	}
	base, why := chooseBase(o.base, recorded, where, func(rev string) bool { return c.commitExists(ctx, rev) })
	if why != "" {
		fmt.Fprintln(stdout, "check:", why)
	}
	// The arguments ab or compare will get are parsed now, so that a bad
	// gate flag is a usage error before anything is built or measured.
	if base == savedBase {
		_, err := parseCompare(io.Discard, compareArgs(o, "RUN"))
		if err := gateFlagsError("compare", err); err != nil {
			return err
		}
		return c.saved(ctx)
	}
	_, err = parseAB(io.Discard, abArgs(o, "BASE", "HEAD"))
	if err := gateFlagsError("ab", err); err != nil {
		return err
	}
	return c.against(ctx, base)
}

func gateFlagsError(cmd string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pflag.ErrHelp):
		return usageError("--help among the gate flags (see 'clusterbench %s --help')", cmd)
	}
	return fmt.Errorf("gate flags for %s: %w", cmd, err)
}

// commitHex is what a baseline may record as its commit.
var commitHex = regexp.MustCompile(`^[0-9a-f]{4,64}$`)

// recordedCommit returns the commit the baseline was measured from and
// where it is recorded; "" when it records none or cannot be read.
func (c *checker) recordedCommit() (commit, where string) {
	run, path, err := loadRun(c.o.baseline)
	if err != nil {
		fmt.Fprintf(c.stdout, "check: baseline: %v\n", err)
		return "", c.o.baseline
	}
	if !commitHex.MatchString(run.Env.GitCommit) {
		return "", path
	}
	return run.Env.GitCommit, path
}

func (c *checker) commitExists(ctx context.Context, rev string) bool {
	_, err := c.t.command(ctx, "", "git", "cat-file", "-e", rev+"^{commit}")
	return err == nil
}

// chooseBase returns what to gate against: the flag when given; else the
// commit the baseline records (where) when exists says this clone has it;
// else saved. why says which and why when the flag was not given.
func chooseBase(flag, recorded, where string, exists func(rev string) bool) (base, why string) {
	switch {
	case flag != "":
		return flag, ""
	case recorded == "":
		return savedBase, fmt.Sprintf("%s records no commit: falling back to the saved numbers", where)
	case !exists(recorded):
		return savedBase, fmt.Sprintf("the baseline's commit %s is not in this clone: falling back to the saved numbers", recorded)
	}
	return recorded, fmt.Sprintf("no --base given: gating against %s, the commit %s was measured from", recorded, where)
}

// abArgs are the arguments of `clusterbench ab` for the two binaries.
func abArgs(o checkOptions, base, head string) []string {
	return append([]string{o.scenario,
		"--base", quoteWord(base) + " " + o.server,
		"--head", quoteWord(head) + " " + o.server}, o.gateFlags...)
}

// runArgs are the arguments of the saved form's `clusterbench run`.
func runArgs(o checkOptions, out string) []string {
	return []string{o.scenario, "--quiet", "--out", out}
}

// compareArgs are the arguments of the saved form's `clusterbench compare`.
func compareArgs(o checkOptions, run string) []string {
	return append([]string{"--metrics", o.baselineMetrics, o.baseline, run}, o.gateFlags...)
}

// quoteWord quotes s for ab.SplitCommand when it needs it.
func quoteWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\|&;<>()$`*?") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// against builds rev in a temporary worktree and gates this binary
// against it with ab. The worktree and the directory go in every case.
func (c *checker) against(ctx context.Context, rev string) error {
	head, err := c.t.executable()
	if err != nil {
		return measurementError(fmt.Errorf("find this binary, the head: %w", err))
	}
	tmp, err := os.MkdirTemp(c.t.tempDir, "clusterbench-check-")
	if err != nil {
		return measurementError(err)
	}
	src, bin := filepath.Join(tmp, "src"), filepath.Join(tmp, "clusterbench")
	defer c.cleanup(ctx, tmp, src)

	fmt.Fprintf(c.stdout, "check: building %s in a temporary worktree, %s\n", rev, src)
	// Not cancelled: git removes a half-made worktree itself on a signal
	// it receives, but one killed mid-way leaves it locked.
	if out, err := c.t.command(context.WithoutCancel(ctx), "", "git", "worktree", "add", "--detach", "--quiet", src, rev); err != nil {
		return usageError("no commit %s to build: git worktree add: %v: %s", rev, err, bytes.TrimSpace(out))
	}
	if err := ctx.Err(); err != nil {
		return measurementError(fmt.Errorf("interrupted: %w", err))
	}
	if out, err := c.t.command(ctx, src, c.o.goCmd, "build", "-o", bin, "./bench/cmd/clusterbench"); err != nil {
		if ctx.Err() != nil {
			return measurementError(fmt.Errorf("interrupted while building %s: %w", rev, ctx.Err()))
		}
		return measurementError(fmt.Errorf("%s does not build: %v\n%s", rev, err, bytes.TrimSpace(out)))
	}
	c.nice()
	if err := c.t.ab(ctx, c.stdout, c.stderr, abArgs(c.o, bin, head)); err != nil {
		return fmt.Errorf("ab: %w", err)
	}
	return nil
}

// cleanup removes the worktree, then the directory, then git's record of
// the worktree, even after the context was cancelled.
func (c *checker) cleanup(ctx context.Context, tmp, src string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := os.Stat(src); err == nil {
		// Twice --force: a worktree left locked by an interrupted add goes too.
		if out, err := c.t.command(ctx, "", "git", "worktree", "remove", "--force", "--force", src); err != nil {
			fmt.Fprintf(c.stderr, "check: git worktree remove %s: %v: %s\n", src, err, bytes.TrimSpace(out))
		}
	}
	if err := os.RemoveAll(tmp); err != nil {
		fmt.Fprintf(c.stderr, "check: remove %s: %v\n", tmp, err)
	}
	if out, err := c.t.command(ctx, "", "git", "worktree", "prune"); err != nil {
		fmt.Fprintf(c.stderr, "check: git worktree prune: %v: %s\n", err, bytes.TrimSpace(out))
	}
}

// saved runs the scenario afresh and compares it with the baseline: an
// advisory result unless --strict-saved.
func (c *checker) saved(ctx context.Context) error {
	fmt.Fprintf(c.stdout, "check: a fresh run against the saved numbers of %s (weak, measured apart: advisory unless --strict-saved)\n", c.o.baseline)
	tmp, err := os.MkdirTemp(c.t.tempDir, "clusterbench-check-")
	if err != nil {
		return measurementError(err)
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintf(c.stderr, "check: remove %s: %v\n", tmp, err)
		}
	}()
	c.nice()
	var out bytes.Buffer
	if err := c.t.run(ctx, &out, c.stderr, runArgs(c.o, filepath.Join(tmp, "runs"))); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	dir := strings.TrimSpace(out.String())
	if i := strings.LastIndexByte(dir, '\n'); i >= 0 {
		dir = dir[i+1:]
	}
	err = c.t.compare(ctx, c.stdout, c.stderr, compareArgs(c.o, dir))
	if err == nil {
		return nil
	}
	if c.o.strictSaved {
		return fmt.Errorf("compare: %w", err)
	}
	fmt.Fprintf(c.stdout, "check: advisory: clusterbench compare exited %d against saved numbers (%v); not failing (--strict-saved makes it fail; --base REV is the real gate)\n", exitCode(err), err)
	return nil
}

// nice sets the process's nice value before the measurement and says in
// one line whether it applied; not being allowed is not an error.
func (c *checker) nice() {
	if c.o.nice == 0 {
		return
	}
	switch err := c.t.renice(c.o.nice); {
	case err == nil:
		fmt.Fprintf(c.stdout, "check: running at nice %d (the servers and the load generator inherit it)\n", c.o.nice)
	case errors.Is(err, os.ErrPermission): // EPERM, EACCES
		fmt.Fprintf(c.stdout, "check: nice %d not allowed here (%v): running at the current priority\n", c.o.nice, err)
	default:
		fmt.Fprintf(c.stdout, "check: nice %d not applied (%v): running at the current priority\n", c.o.nice, err)
	}
}

// combinedOutput runs argv in dir and returns its stdout and stderr. A
// cancelled context interrupts it (go build then removes its work
// directory), and kills it 10s later.
func combinedOutput(ctx context.Context, dir string, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	return cmd.CombinedOutput()
}
