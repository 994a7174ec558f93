package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clusterbench/clusterbench/bench/threshold"
)

// MaxFileSize bounds a scenario file; anything larger is refused unread.
const MaxFileSize = 1 << 20

// LoadFile reads, parses, validates and defaults the scenario file at path.
// A bad file gives Errors (every problem, each `file:line: field: problem
// (allowed: ...)`); an unreadable one a plain wrapped error.
func LoadFile(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileSize+1)); err != nil {
		return nil, fmt.Errorf("scenario: read %s: %w", path, err)
	}
	return Parse(path, buf.Bytes())
}

// Parse parses and validates the scenario in data; file names it in error
// messages and in Scenario.File ("-" when empty). The returned Scenario is fully defaulted
// (see the Default constants) and every field is valid. On failure the
// error is Errors, listing every problem found, ordered by line.
// EmbeddedPrefix starts the File of a scenario built into the binary.
const EmbeddedPrefix = "(built in) "

func Parse(file string, data []byte) (*Scenario, error) {
	if file == "" {
		file = "-" // errors always carry file:line:
	}
	p := &parser{file: file}
	s := p.parse(data)
	if len(p.errs) > 0 {
		return nil, p.errs.sorted()
	}
	if file != "-" && !strings.HasPrefix(file, EmbeddedPrefix) {
		s.Dir = filepath.Dir(file)
	}
	return s, nil
}

type parser struct {
	file     string
	errs     Errors
	calcErrs Errors // /calc paths out of bounds: errors unless every server is a target:
	// engineLine is where load.engine is given (0: not given), for
	// the faults' check that the engine never retries.
	engineLine int
}

func (p *parser) add(line int, field, allowed, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: max(line, 1), Field: field, Problem: fmt.Sprintf(format, args...), Allowed: allowed})
}

func (p *parser) errorf(n *yaml.Node, field, allowed, format string, args ...any) {
	p.add(n.Line, field, allowed, format, args...)
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// syntax turns a yaml.v3 error into file:line: errors.
func (p *parser) syntax(err error) {
	msgs := []string{err.Error()}
	if te, ok := err.(*yaml.TypeError); ok {
		msgs = te.Errors
	}
	for _, m := range msgs {
		line := 1
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			line, _ = strconv.Atoi(sub[1])
			m = sub[2]
		}
		p.add(line, "yaml", "", "%s", strings.TrimPrefix(m, "yaml: "))
	}
}

func (p *parser) parse(data []byte) *Scenario {
	s := &Scenario{File: p.file}
	if len(data) > MaxFileSize {
		p.add(1, "scenario", fmt.Sprintf("at most %d bytes", MaxFileSize), "file is too large")
		return s
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(1, "scenario", "a mapping with name, description, servers, requests, load, pin", "the file is empty")
		} else {
			p.syntax(err)
		}
		return s
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "scenario", "one document per file", "a second YAML document starts here")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	var seen struct{ servers, requests, load bool }
	p.mapping(root, "scenario", []field{
		{"name", func(n *yaml.Node) { s.Name = p.name(n, "name") }},
		{"description", func(n *yaml.Node) { s.Description, _ = p.str(n, "description") }},
		{"servers", func(n *yaml.Node) { seen.servers = true; s.Servers = p.servers(n) }},
		{"requests", func(n *yaml.Node) { seen.requests = true; s.Requests = p.requests(n) }},
		{"load", func(n *yaml.Node) { seen.load = true; s.Load = p.load(n) }},
		{"pin", func(n *yaml.Node) { s.Pin = p.pin(n) }},
		{"calc", func(n *yaml.Node) { s.Calc = p.calcs(n) }},
		{"thresholds", func(n *yaml.Node) {
			p.list(n, "thresholds", threshold.Allowed, func(i int, item *yaml.Node) {
				name := fmt.Sprintf("thresholds[%d]", i)
				if e, ok := p.str(item, name); ok {
					t, err := threshold.Parse(e)
					if err != nil {
						p.errorf(item, name, threshold.Allowed, "%v", err)
						return
					}
					s.Thresholds = append(s.Thresholds, t)
				}
			})
		}},
		{"faults", func(n *yaml.Node) { s.Faults = p.faults(n) }},
	})
	if root.Kind != yaml.MappingNode {
		return s
	}
	if !seen.servers {
		p.errorf(root, "servers", serversAllowed, "missing")
	}
	if !seen.requests {
		p.errorf(root, "requests", "a list of requests, each with path:", "missing")
	}
	if !seen.load {
		p.errorf(root, "load", "a mapping with concurrency: or rate:, duration, warmup, trials, keepalive, timeout, engine, expect_status, connections", "missing")
	}
	if s.Name == "" {
		s.Name = defaultName(p.file)
	}
	if seen.load {
		p.checkFaults(s)
	}
	for _, sv := range s.Servers {
		if !sv.IsTarget() { // the /calc bounds hold for the project's servers
			p.errs = append(p.errs, p.calcErrs...)
			break
		}
	}
	return s
}

// defaultName is the file's base name without extension, made into a
// valid name ("" and odd characters become "scenario").
func defaultName(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if validName.MatchString(base) && len(base) <= maxNameLen {
		return base
	}
	return "scenario"
}

// field is one allowed key of a mapping and what to do with its value.
type field struct {
	key string
	fn  func(*yaml.Node)
}

// mapping walks a mapping node: every key must be one of fields (strict),
// at most once; each value is handed to its field's function.
func (p *parser) mapping(n *yaml.Node, name string, fields []field) bool {
	allowed := make([]string, len(fields))
	for i, f := range fields {
		allowed[i] = f.key
	}
	if !p.plain(n, name) {
		return false
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, name, strings.Join(allowed, ", "), "%s is not a mapping", describe(n))
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		path := join(name, key)
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, name, strings.Join(allowed, ", "), "a key must be a plain word")
			continue
		}
		if line, dup := seen[key]; dup {
			p.errorf(k, path, "each key once", "given again (first on line %d)", line)
			continue
		}
		seen[key] = k.Line
		var fn func(*yaml.Node)
		for _, f := range fields {
			if f.key == key {
				fn = f.fn
			}
		}
		if fn == nil {
			p.errorf(k, path, strings.Join(allowed, ", "), "unknown field")
			continue
		}
		if p.plain(v, path) {
			fn(v)
		}
	}
	return true
}

// join builds a field path; the root "scenario" is left out.
func join(parent, key string) string {
	if parent == "scenario" || parent == "" {
		return key
	}
	return parent + "." + key
}

// plain refuses anchors' aliases and merge keys: a scenario is read as
// written, so an error's line is where the value is.
func (p *parser) plain(n *yaml.Node, name string) bool {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, name, "plain values", "YAML aliases are not supported")
		return false
	}
	return true
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "an empty value"
		}
		return strconv.Quote(n.Value)
	}
	return "this value"
}

// str is a non-empty scalar's text.
func (p *parser) str(n *yaml.Node, name string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, name, "text", "%s is not text", describe(n))
		return "", false
	}
	return n.Value, true
}

const maxNameLen = 64

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func (p *parser) name(n *yaml.Node, name string) string {
	v, ok := p.str(n, name)
	if !ok {
		return ""
	}
	if !validName.MatchString(v) || len(v) > maxNameLen {
		p.errorf(n, name, fmt.Sprintf("lower-case letters, digits, '.', '_', '-', starting with a letter or digit, at most %d characters", maxNameLen), "%q is not a valid name", v)
		return ""
	}
	return v
}

// intIn is an integer scalar within lo..hi.
func (p *parser) intIn(n *yaml.Node, name string, lo, hi int) (int, bool) {
	allowed := fmt.Sprintf("%d..%d", lo, hi)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errorf(n, name, allowed, "%s is not an integer", describe(n))
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		p.errorf(n, name, allowed, "%s is out of range", n.Value)
		return 0, false
	}
	return int(v), true
}

// durIn is a Go duration ("500ms", "5s") within lo..hi.
func (p *parser) durIn(n *yaml.Node, name string, lo, hi time.Duration) (time.Duration, bool) {
	allowed := fmt.Sprintf("%s..%s, written like 500ms, 5s, 1m", fmtDur(lo), fmtDur(hi))
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, name, allowed, "%s is not a duration", describe(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		if n.Value == "0" {
			return 0, checkDur(p, n, name, allowed, 0, lo, hi)
		}
		p.errorf(n, name, allowed, "%q is not a duration", n.Value)
		return 0, false
	}
	return d, checkDur(p, n, name, allowed, d, lo, hi)
}

func checkDur(p *parser, n *yaml.Node, name, allowed string, d, lo, hi time.Duration) bool {
	if d < lo || d > hi {
		p.errorf(n, name, allowed, "%s is out of range", fmtDur(d))
		return false
	}
	return true
}

// fmtDur prints a duration without trailing zero units ("1m", not "1m0s").
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (p *parser) boolean(n *yaml.Node, name string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errorf(n, name, "true, false", "%s is not a boolean", describe(n))
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		p.errorf(n, name, "true, false", "%s is not a boolean", describe(n))
		return false, false
	}
	return b, true
}

// list hands each item of a sequence to fn with its index.
func (p *parser) list(n *yaml.Node, name, allowed string, fn func(i int, item *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, name, allowed, "%s is not a list", describe(n))
		return
	}
	if len(n.Content) == 0 {
		p.errorf(n, name, allowed, "the list is empty")
		return
	}
	for i, item := range n.Content {
		path := fmt.Sprintf("%s[%d]", name, i)
		if p.plain(item, path) {
			fn(i, item)
		}
	}
}
