package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/ab"
)

// fakeCheck stands in for git, go, ab, run and compare: it records what
// check starts and fails where told.
type fakeCheck struct {
	t       *testing.T
	calls   []string         // one line per command: its words joined by spaces
	fail    map[string]error // by the first two words: "git worktree", "go build", "git cat-file", "ab", "run", "compare"
	reniced []int
	renice  error
	runOut  string // what run prints (its --quiet output), default RUN_DIR
}

func (f *fakeCheck) tools() checkTools {
	return checkTools{
		command: func(_ context.Context, dir string, argv ...string) ([]byte, error) {
			f.calls = append(f.calls, strings.Join(argv, " "))
			key := strings.Join(argv[:min(2, len(argv))], " ")
			if err := f.fail[key]; err != nil {
				return []byte("fake " + key + " failed"), err
			}
			if key == "git worktree" && argv[2] == "add" {
				src := argv[5]
				if err := os.MkdirAll(src, 0o755); err != nil {
					f.t.Fatal(err)
				}
			}
			if key == "go build" && dir == "" {
				f.t.Errorf("go build in the current directory, want the worktree")
			}
			return nil, nil
		},
		ab:      f.cmd("ab"),
		compare: f.cmd("compare"),
		run: func(ctx context.Context, stdout, stderr io.Writer, args []string) error {
			out := f.runOut
			if out == "" {
				out = "RUN_DIR"
			}
			io.WriteString(stdout, out+"\n")
			return f.cmd("run")(ctx, stdout, stderr, args)
		},
		executable: func() (string, error) { return "/head dir/clusterbench", nil },
		renice:     func(n int) error { f.reniced = append(f.reniced, n); return f.renice },
		tempDir:    f.t.TempDir(),
	}
}

func (f *fakeCheck) cmd(name string) func(context.Context, io.Writer, io.Writer, []string) error {
	return func(_ context.Context, _, _ io.Writer, args []string) error {
		f.calls = append(f.calls, name+" "+strings.Join(args, " "))
		return f.fail[name]
	}
}

// has reports whether a call starts with prefix.
func (f *fakeCheck) has(prefix string) bool {
	return slices.ContainsFunc(f.calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

// checkFake runs check with the fakes and returns its exit code and output.
func checkFake(t *testing.T, f *fakeCheck, args ...string) (int, string) {
	t.Helper()
	if f.t == nil {
		f.t = t
	}
	var out bytes.Buffer
	err := checkWith(context.Background(), &out, &out, args, f.tools())
	if err != nil {
		out.WriteString("error: " + err.Error() + "\n")
		return exitCode(err), out.String()
	}
	return ExitOK, out.String()
}

// checkFixtures writes a scenario file and a baseline recording commit,
// and returns their paths.
func checkFixtures(t *testing.T, commit string) (scenario, baseline string) {
	t.Helper()
	dir := t.TempDir()
	scenario = filepath.Join(dir, "gate.yaml")
	if err := os.WriteFile(scenario, []byte(gateScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	run := fakeRun(1, "host", 10, 3)
	run.Env.GitCommit = commit
	baseline = filepath.Join(dir, "baseline", "summary.json")
	writeRun(t, baseline, run)
	return scenario, baseline
}

func TestCheckChooseBase(t *testing.T) {
	have := func(string) bool { return true }
	lack := func(string) bool { return false }
	for _, c := range []struct {
		flag, recorded string
		exists         func(string) bool
		base, why      string
	}{
		{"origin/main", "abc123", have, "origin/main", ""},
		{"saved", "abc123", have, "saved", ""},
		{"", "abc123", have, "abc123", "no --base given: gating against abc123, the commit results/b/summary.json was measured from"},
		{"", "abc123", lack, "saved", "the baseline's commit abc123 is not in this clone: falling back to the saved numbers"},
		{"", "", have, "saved", "results/b/summary.json records no commit: falling back to the saved numbers"},
	} {
		base, why := chooseBase(c.flag, c.recorded, "results/b/summary.json", c.exists)
		if base != c.base || why != c.why {
			t.Errorf("chooseBase(%q, %q) = %q, %q; want %q, %q", c.flag, c.recorded, base, why, c.base, c.why)
		}
	}
}

func TestCheckArgs(t *testing.T) {
	scenario, _ := checkFixtures(t, "")
	o, err := parseCheck(io.Discard, []string{"--scenario", scenario, "--server", "serve --model pool",
		"--gate-flags", `--strict --summary "a b.md"`, "--", "--junit", "x.xml"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--strict", "--summary", "a b.md", "--junit", "x.xml"}; !slices.Equal(o.gateFlags, want) {
		t.Errorf("gate flags %q, want %q", o.gateFlags, want)
	}
	args := abArgs(o, "/tmp/x y/clusterbench", "bin/it's")
	if want := []string{scenario, "--base", `'/tmp/x y/clusterbench' serve --model pool`, "--head", `'bin/it'\''s' serve --model pool`,
		"--strict", "--summary", "a b.md", "--junit", "x.xml"}; !slices.Equal(args, want) {
		t.Errorf("ab args %q, want %q", args, want)
	}
	for i, want := range [][]string{{"/tmp/x y/clusterbench", "serve", "--model", "pool"}, {"bin/it's", "serve", "--model", "pool"}} {
		if got, err := ab.SplitCommand(args[2+2*i]); err != nil || !slices.Equal(got, want) {
			t.Errorf("ab splits %q into %q, %v; want %q", args[2+2*i], got, err, want)
		}
	}
	if got, want := compareArgs(o, "RUN"), []string{"--metrics", "cpu", "gate-baseline", "RUN", "--strict", "--summary", "a b.md", "--junit", "x.xml"}; !slices.Equal(got, want) {
		t.Errorf("compare args %q, want %q", got, want)
	}
	if got, want := runArgs(o, "OUT"), []string{scenario, "--quiet", "--out", "OUT"}; !slices.Equal(got, want) {
		t.Errorf("run args %q, want %q", got, want)
	}
}

// TestCheckUsage: a bad flag, argument or gate flag is exit 2 before
// anything is built or measured.
func TestCheckUsage(t *testing.T) {
	scenario, _ := checkFixtures(t, "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"origin/main"}, "check takes no arguments"},
		{[]string{"--base", "-x"}, "not a revision"},
		{[]string{"--nice", "40"}, "--nice 40 out of range"},
		{[]string{"--scenario", "nonexistent.yaml"}, "--scenario"},
		{[]string{"--server", "serve | cat"}, "--server"},
		{[]string{"--gate-flags", `"unterminated`}, "--gate-flags"},
		{[]string{"--", "--bogus"}, "gate flags for ab: unknown flag: --bogus"},
		{[]string{"--", "--threshold", "x"}, "gate flags for ab: --threshold"},
		{[]string{"--", "--help"}, "--help among the gate flags"},
		{[]string{"--base", "saved", "--", "--trials", "3"}, "gate flags for compare: unknown flag: --trials"},
	} {
		f := &fakeCheck{}
		args := append([]string{"--base", "HEAD", "--scenario", scenario}, c.args...)
		code, out := checkFake(t, f, args...)
		if code != ExitUsage || !strings.Contains(out, c.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", c.args, code, out, c.want)
		}
		if len(f.calls) > 0 {
			t.Errorf("%q: started %q; want nothing", c.args, f.calls)
		}
	}
}

// TestCheckBase: --base REV builds REV in a worktree, gates this binary
// against it, and removes the worktree whatever happened.
func TestCheckBase(t *testing.T) {
	scenario, _ := checkFixtures(t, "")
	errFake := errors.New("exit status 1")
	for _, c := range []struct {
		name    string
		fail    map[string]error
		renice  error
		code    int
		want    []string // in the output
		started []string // call prefixes
	}{
		{"passes", nil, nil, ExitOK, []string{"check: building v1 in a temporary worktree", "running at nice -10"},
			[]string{"git worktree add --detach --quiet ", "go build -o ", "ab " + scenario + " --base ", "git worktree remove --force --force ", "git worktree prune"}},
		{"regression", map[string]error{"ab": regressionError(errors.New("1 metric(s) regressed"))}, nil, ExitRegression,
			[]string{"error: ab: 1 metric(s) regressed"},
			[]string{"ab ", "git worktree remove --force --force ", "git worktree prune"}},
		{"inconclusive under --strict", map[string]error{"ab": measurementError(errors.New("1 metric(s) inconclusive (--strict)"))}, nil, ExitMeasurement,
			[]string{"error: ab: 1 metric(s) inconclusive"}, []string{"ab ", "git worktree remove ", "git worktree prune"}},
		{"no such commit", map[string]error{"git worktree": errFake}, nil, ExitUsage,
			[]string{"no commit v1 to build: git worktree add: exit status 1: fake git worktree failed"}, []string{"git worktree prune"}},
		{"does not build", map[string]error{"go build": errFake}, nil, ExitMeasurement,
			[]string{"v1 does not build: exit status 1\nfake go build failed"}, []string{"git worktree remove --force --force ", "git worktree prune"}},
		{"nice not allowed", nil, syscall.EACCES, ExitOK, []string{"nice -10 not allowed here (permission denied): running at the current priority"},
			[]string{"ab "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeCheck{t: t, fail: c.fail, renice: c.renice}
			tools := f.tools()
			var out bytes.Buffer
			err := checkWith(context.Background(), &out, &out, []string{"--base", "v1", "--scenario", scenario, "--", "--metrics", "cpu"}, tools)
			code := ExitOK
			if err != nil {
				code = exitCode(err)
				out.WriteString("error: " + err.Error())
			}
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, p := range c.started {
				if !f.has(p) {
					t.Errorf("nothing started as %q; started:\n%s", p, strings.Join(f.calls, "\n"))
				}
			}
			if c.fail["git worktree"] != nil && f.has("git worktree remove") {
				t.Errorf("removed a worktree that was never added:\n%s", strings.Join(f.calls, "\n"))
			}
			if f.has("ab ") != (c.fail["git worktree"] == nil && c.fail["go build"] == nil) {
				t.Errorf("ab started %v:\n%s", f.has("ab "), strings.Join(f.calls, "\n"))
			}
			// ab gets the built base and this binary, with the gate flags.
			for _, call := range f.calls {
				if strings.HasPrefix(call, "ab ") && (!strings.Contains(call, "/clusterbench serve --model single --head '/head dir/clusterbench' serve --model single --metrics cpu") ||
					!strings.Contains(call, tools.tempDir)) {
					t.Errorf("ab called as %q", call)
				}
			}
			if ents, err := os.ReadDir(tools.tempDir); err != nil || len(ents) > 0 {
				t.Errorf("temporary files left: %v %v", ents, err)
			}
		})
	}
}

// TestCheckDefaultBase: without --base, the baseline's commit when this
// clone has it, else the saved numbers.
func TestCheckDefaultBase(t *testing.T) {
	const commit = "dc34a28d5ed7f9bf3d94dd177f4356d6821df2b0"
	scenario, baseline := checkFixtures(t, commit)
	f := &fakeCheck{}
	code, out := checkFake(t, f, "--scenario", scenario, "--baseline", baseline, "--nice", "0")
	if code != ExitOK || !strings.Contains(out, "no --base given: gating against "+commit) ||
		!f.has("git cat-file -e "+commit+"^{commit}") || !f.has("git worktree add --detach --quiet ") || !f.has("ab ") {
		t.Errorf("baseline commit present: exit %d\n%s\nstarted:\n%s", code, out, strings.Join(f.calls, "\n"))
	}
	if len(f.reniced) > 0 {
		t.Errorf("--nice 0 reniced to %v", f.reniced)
	}

	f = &fakeCheck{fail: map[string]error{"git cat-file": errors.New("exit status 128")}}
	code, out = checkFake(t, f, "--scenario", scenario, "--baseline", baseline)
	if code != ExitOK || !strings.Contains(out, "the baseline's commit "+commit+" is not in this clone: falling back to the saved numbers") ||
		f.has("git worktree") || !f.has("run ") || !f.has("compare ") {
		t.Errorf("baseline commit absent: exit %d\n%s\nstarted:\n%s", code, out, strings.Join(f.calls, "\n"))
	}

	_, noCommit := checkFixtures(t, "")
	f = &fakeCheck{}
	code, out = checkFake(t, f, "--scenario", scenario, "--baseline", noCommit)
	if code != ExitOK || !strings.Contains(out, "records no commit: falling back to the saved numbers") || f.has("git") || !f.has("compare ") {
		t.Errorf("baseline without commit: exit %d\n%s\nstarted:\n%s", code, out, strings.Join(f.calls, "\n"))
	}
}

// TestCheckSaved: --base saved runs afresh and compares with the baseline;
// what compare finds is advisory unless --strict-saved.
func TestCheckSaved(t *testing.T) {
	scenario, baseline := checkFixtures(t, "")
	regressed := map[string]error{"compare": regressionError(errors.New("1 metric(s) regressed"))}
	for _, c := range []struct {
		name  string
		fail  map[string]error
		flags []string
		code  int
		want  string
	}{
		{"passes", nil, nil, ExitOK, "check: a fresh run against the saved numbers of " + baseline},
		{"regression is advisory", regressed, nil, ExitOK,
			"check: advisory: clusterbench compare exited 1 against saved numbers (1 metric(s) regressed); not failing"},
		{"regression under --strict-saved", regressed, []string{"--strict-saved"}, ExitRegression, "error: compare: 1 metric(s) regressed"},
		{"run fails", map[string]error{"run": measurementError(errors.New("server did not start"))}, nil, ExitMeasurement, "error: run: server did not start"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeCheck{fail: c.fail, runOut: "progress\n/tmp/runs/x-gate"}
			args := append([]string{"--base", "saved", "--scenario", scenario, "--baseline", baseline}, c.flags...)
			args = append(args, "--", "--threshold", "7%")
			code, out := checkFake(t, f, args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want %d and %q:\n%s", code, c.code, c.want, out)
			}
			if !f.has("run " + scenario + " --quiet --out ") {
				t.Errorf("run not started as run SCENARIO --quiet --out DIR:\n%s", strings.Join(f.calls, "\n"))
			}
			if c.fail["run"] == nil && !f.has("compare --metrics cpu "+baseline+" /tmp/runs/x-gate --threshold 7%") {
				t.Errorf("compare not started on the fresh run with the gate flags:\n%s", strings.Join(f.calls, "\n"))
			}
		})
	}
}

// gitRepo returns the repository root, or skips the test when there is no
// git work tree (a source archive): check builds revisions with git.
func gitRepo(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--verify", "HEAD^{commit}").CombinedOutput(); err != nil {
		t.Skipf("no git repository with a commit at %s (check builds revisions with git worktree; a CI clone has one): %v: %s", root, err, out)
	}
	return root
}

// startCheck starts the test binary as `clusterbench check args...` in the
// repository root with TMPDIR in a test directory, and returns the
// command, its stdout lines as they come (closed at its end), its stderr
// and the TMPDIR.
func startCheck(t *testing.T, root string, args ...string) (*exec.Cmd, <-chan string, *bytes.Buffer, string) {
	t.Helper()
	cmd, _, stderr := clusterbench(t, root, append([]string{"check"}, args...)...)
	tmp := t.TempDir()
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	cmd.Stdout = nil
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines, stderr, tmp
}

// waitCheck reads the lines to their end into log, then waits for the
// command and returns its exit code. After limit it sends SIGINT (check
// still removes its worktree), and kills it a minute later.
func waitCheck(t *testing.T, cmd *exec.Cmd, lines <-chan string, log *strings.Builder, limit time.Duration) int {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	interrupted := false
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return exitCodeOf(t, cmd.Wait())
			}
			log.WriteString(l + "\n")
		case <-timer.C:
			if interrupted {
				_ = cmd.Process.Kill()
				for l := range lines {
					log.WriteString(l + "\n")
				}
				_ = cmd.Wait()
				t.Fatalf("check did not end within a minute of SIGINT:\n%s", log.String())
			}
			t.Errorf("check still running after %s: interrupting it", limit)
			_ = cmd.Process.Signal(syscall.SIGINT)
			interrupted = true
			timer.Reset(time.Minute)
		}
	}
}

// worktreeAt returns the worktree path of a `check: building` line.
func worktreeAt(line string) string {
	_, src, _ := strings.Cut(line, "temporary worktree, ")
	return src
}

// assertNoWorktree checks that src is gone from the disk and from git's
// list of worktrees.
func assertNoWorktree(t *testing.T, root, src string) {
	t.Helper()
	if src == "" {
		t.Fatal("no worktree path printed")
	}
	if _, err := os.Stat(filepath.Dir(src)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s still there (%v)", filepath.Dir(src), err)
	}
	out, err := exec.Command("git", "-C", root, "worktree", "list", "--porcelain").CombinedOutput()
	if err != nil {
		t.Fatalf("git worktree list: %v: %s", err, out)
	}
	if strings.Contains(string(out), src) {
		t.Errorf("git still lists the worktree %s:\n%s", src, out)
	}
}

// TestCheckInterruptRemovesWorktree: SIGINT while the base builds exits 3
// and removes the worktree and the temporary directory.
func TestCheckInterruptRemovesWorktree(t *testing.T) {
	root := gitRepo(t)
	scenario, _ := checkFixtures(t, "")
	cmd, lines, stderr, _ := startCheck(t, root, "--base", "HEAD", "--scenario", scenario, "--nice", "0")
	var log strings.Builder
	var src string
	deadline := time.After(2 * time.Minute)
	for src == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("check ended before building: %v\n%s%s", cmd.Wait(), log.String(), stderr.String())
			}
			log.WriteString(l + "\n")
			if strings.HasPrefix(l, "check: building HEAD") {
				src = worktreeAt(l)
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("no `check: building` line after 2 minutes:\n%s", log.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := waitCheck(t, cmd, lines, &log, 2*time.Minute)
	if code != ExitMeasurement || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("exit %d after SIGINT, want %d and interrupted:\n%s%s", code, ExitMeasurement, log.String(), stderr.String())
	}
	assertNoWorktree(t, root, src)
}

// TestCheckBaseHEAD runs the whole gate: HEAD built in a worktree against
// this binary, on a short scenario (2 pairs of 200ms trials: too few to
// decide, so inconclusive, exit 0), then checks the worktree is gone.
func TestCheckBaseHEAD(t *testing.T) {
	if testing.Short() {
		t.Skip("builds HEAD and runs 4 trials against real servers; skipped with -short")
	}
	root := gitRepo(t)
	scenario := filepath.Join(t.TempDir(), "gate.yaml")
	short := strings.NewReplacer("duration: 100ms", "duration: 200ms", "trials: 6", "trials: 2").Replace(gateScenario)
	if err := os.WriteFile(scenario, []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	// The head, this test binary, is not named clusterbench: ab does not
	// add --addr to its command itself.
	cmd, lines, stderr, _ := startCheck(t, root, "--base", "HEAD", "--scenario", scenario,
		"--server", "serve --model single --addr {addr}", "--", "--quiet", "--annotate=false")
	var log strings.Builder
	code := waitCheck(t, cmd, lines, &log, 8*time.Minute)
	out := log.String()
	if code != ExitOK {
		t.Errorf("exit %d, want 0:\n%s%s", code, out, stderr.String())
	}
	for _, want := range []string{"check: building HEAD in a temporary worktree", "nice -10", "n=2+2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s%s", want, out, stderr.String())
		}
	}
	var src string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "check: building") {
			src = worktreeAt(l)
		}
	}
	assertNoWorktree(t, root, src)
}
