package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The README is a newcomer's page, and its commands must work. These tests
// keep it short and keep every command line of its ```sh blocks in step
// with the binary, the Makefile and the scenario files. A block that is not
// meant to be run (output, a file's content) takes another fence language,
// such as ```text or ```yaml.

const (
	repoRoot       = "../../.."
	readmeMaxLines = 400
	workflowPath   = ".github/workflows/bench.yml"
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestREADMELength(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	if n := strings.Count(readme, "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines (allowed: at most %d); move reference text to --help, package docs, scenarios/REFERENCE.md or results/measurements/", n, readmeMaxLines)
	}
}

// shellLine is one command of a ```sh block, continuation lines joined.
type shellLine struct {
	line int // of README.md, where the command starts
	text string
}

// shBlocks returns the commands of the ```sh blocks of a Markdown text.
func shBlocks(md string) []shellLine {
	var out []shellLine
	in := false
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if fence, ok := strings.CutPrefix(strings.TrimSpace(l), "```"); ok {
			if in {
				in = false
			} else {
				in = strings.TrimSpace(fence) == "sh"
			}
			continue
		}
		if !in {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, cont := strings.CutSuffix(l, `\`); cont {
			cur.WriteString(body)
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(l)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, shellLine{start, s})
		}
		cur.Reset()
	}
	return out
}

// shellWords splits a command line as a shell splits a simple command:
// whitespace separates words, quotes group them, a backslash escapes the
// next character outside single quotes, and an unquoted # at the start of a
// word begins a comment.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			w.WriteRune(r)
			escaped = false
		case quote != 0:
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' {
				escaped = true
			} else {
				w.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case r == '#' && !inWord:
			return words, nil
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

var makeRule = regexp.MustCompile(`^([A-Za-z0-9_.-]+(?:[ \t]+[A-Za-z0-9_.-]+)*)[ \t]*:(?:[^=]|$)`)

// makeTargets returns the targets that the Makefile's rules define.
func makeTargets(t *testing.T) map[string]bool {
	targets := map[string]bool{}
	for _, l := range strings.Split(readRepoFile(t, "Makefile"), "\n") {
		if m := makeRule.FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[1], ".") {
			for _, name := range strings.Fields(m[1]) {
				targets[name] = true
			}
		}
	}
	if len(targets) == 0 {
		t.Fatal("Makefile: no targets found")
	}
	return targets
}

// checkMake checks `make [VAR=value ...] [target ...]`.
func checkMake(words []string, targets map[string]bool) []string {
	var problems []string
	for _, w := range words[1:] {
		if strings.Contains(w, "=") || strings.HasPrefix(w, "-") {
			continue // a variable or a flag of make
		}
		if !targets[w] {
			problems = append(problems, fmt.Sprintf("make target %q is not in the Makefile", w))
		}
	}
	return problems
}

// helpOf returns what `clusterbench CMD --help` prints, stdout and stderr
// together.
func helpOf(t *testing.T, cache map[string]string, sub string) string {
	t.Helper()
	if h, ok := cache[sub]; ok {
		return h
	}
	var out bytes.Buffer
	if code := Main(context.Background(), &out, &out, []string{sub, "--help"}); code != ExitOK {
		t.Fatalf("clusterbench %s --help exited %d: %s", sub, code, out.String())
	}
	if out.Len() == 0 {
		t.Fatalf("clusterbench %s --help printed nothing", sub)
	}
	cache[sub] = out.String()
	return out.String()
}

// helpHasFlag reports whether help documents the flag, written --name or -n.
func helpHasFlag(help, flag string) bool {
	re := regexp.MustCompile(`(^|[^\w-])` + regexp.QuoteMeta(flag) + `([^\w-]|$)`)
	return re.MatchString(help)
}

// checkScenario checks a scenario argument of run or ab: a file, relative
// to the repository root, or NAME for scenarios/NAME.yaml.
func checkScenario(arg string) string {
	path := arg
	if !strings.HasSuffix(arg, ".yaml") && !strings.Contains(arg, "/") {
		path = filepath.Join(ScenariosDir, arg+".yaml")
	}
	if _, err := os.Stat(filepath.Join(repoRoot, path)); err != nil {
		return fmt.Sprintf("scenario %q: %s does not exist", arg, path)
	}
	return ""
}

// checkClusterbench checks `[bin/]clusterbench CMD [args]`: the command
// exists, its help names every flag used, and the scenarios of run and ab
// (the positional arguments before the first flag) exist.
func checkClusterbench(t *testing.T, words []string, help map[string]string) (sub string, problems []string) {
	cmds := commands()
	if len(words) < 2 {
		return "", []string{"no command after clusterbench"}
	}
	sub = words[1]
	if _, ok := cmds[sub]; !ok {
		return "", []string{fmt.Sprintf("clusterbench has no command %q (allowed: %s)", sub, strings.Join(names(cmds), ", "))}
	}
	h := helpOf(t, help, sub)
	positional := true
	for i, w := range words[2:] {
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			positional = false
			name, _, _ := strings.Cut(w, "=")
			if !strings.HasPrefix(name, "--") && len(name) > 2 {
				name = name[:2] // -r500: the short flag and its value
			}
			if !helpHasFlag(h, name) {
				problems = append(problems, fmt.Sprintf("flag %s is not in `clusterbench %s --help`", name, sub))
			}
			continue
		}
		if !positional || (sub == "ab" && i > 0) || (sub != "run" && sub != "ab") {
			continue
		}
		if p := checkScenario(w); p != "" {
			problems = append(problems, p)
		}
	}
	return sub, problems
}

func TestREADMECommands(t *testing.T) {
	targets := makeTargets(t)
	help := map[string]string{}
	used := map[string]bool{}
	var makes, runs int
	for _, l := range shBlocks(readRepoFile(t, "README.md")) {
		words, err := shellWords(l.text)
		if err != nil {
			t.Errorf("README.md:%d: %v: %s", l.line, err, l.text)
			continue
		}
		if len(words) == 0 {
			continue
		}
		var problems []string
		switch words[0] {
		case "make":
			makes++
			problems = checkMake(words, targets)
		case "clusterbench", "bin/clusterbench":
			runs++
			var sub string
			sub, problems = checkClusterbench(t, words, help)
			used[sub] = true
		default:
			continue
		}
		for _, p := range problems {
			t.Errorf("README.md:%d: %s\n\t%s", l.line, p, l.text)
		}
	}
	if makes == 0 || runs == 0 {
		t.Fatalf("README.md: %d make and %d clusterbench command lines in ```sh blocks; want some of each", makes, runs)
	}
	var missing []string
	for name := range commands() {
		if !used[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("README.md: no ```sh example of clusterbench %s (Commands at a glance shows each command once)", strings.Join(missing, ", "))
	}
}

func TestREADMEShellWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`make check BASE=origin/main   # the gate`, []string{"make", "check", "BASE=origin/main"}},
		{`bin/clusterbench ab x.yaml --base "bin/clusterbench serve --burn 5us"`, []string{"bin/clusterbench", "ab", "x.yaml", "--base", "bin/clusterbench serve --burn 5us"}},
		{`curl 'http://h/calc?n=1#x' a\ b`, []string{"curl", "http://h/calc?n=1#x", "a b"}},
		{`echo a#b`, []string{"echo", "a#b"}},
	} {
		got, err := shellWords(c.in)
		if err != nil || strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("shellWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	md := "text\n```sh\nmake a \\\n  b   # c\n```\n```text\nmake nothing\n```\n"
	got := shBlocks(md)
	if len(got) != 1 || got[0].line != 3 || !strings.HasPrefix(got[0].text, "make a") || !strings.Contains(got[0].text, " b ") {
		t.Errorf("shBlocks = %+v; want the one make command of the sh block, joined, at line 3", got)
	}
}

func TestREADMEWorkflow(t *testing.T) {
	var wf map[string]any
	if err := yaml.Unmarshal([]byte(readRepoFile(t, workflowPath)), &wf); err != nil {
		t.Fatalf("%s: %v", workflowPath, err)
	}
	on, ok := wf["on"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no `on:` mapping (got %T)", workflowPath, wf["on"])
	}
	for _, event := range []string{"push", "pull_request"} {
		if _, ok := on[event]; !ok {
			t.Errorf("%s: on: has no %s", workflowPath, event)
		}
	}
	jobs, ok := wf["jobs"].(map[string]any)
	if !ok || len(jobs) == 0 {
		t.Fatalf("%s: no jobs", workflowPath)
	}
	targets := makeTargets(t)
	found := map[string]bool{}
	for name, j := range jobs {
		job, _ := j.(map[string]any)
		steps, _ := job["steps"].([]any)
		for _, s := range steps {
			step, _ := s.(map[string]any)
			run, _ := step["run"].(string)
			run = regexp.MustCompile(`\$\{\{[^}]*\}\}`).ReplaceAllString(run, "EXPR") // ${{ github.base_ref }}
			for _, l := range strings.Split(strings.ReplaceAll(run, "\\\n", " "), "\n") {
				words, err := shellWords(l)
				if err != nil || len(words) < 2 || words[0] != "make" {
					continue
				}
				for _, p := range checkMake(words, targets) {
					t.Errorf("%s: job %s: %s", workflowPath, name, p)
				}
				found[words[1]] = true
			}
		}
	}
	for _, target := range []string{"test", "check"} {
		if !found[target] {
			t.Errorf("%s: no step runs make %s", workflowPath, target)
		}
	}
}
