package scenario

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/servers/app"
	"github.com/clusterbench/clusterbench/servers/prefork"
)

// Go server models, as `clusterbench serve --model` takes them, and the
// prefork balance modes (defined by servers/prefork).
var (
	Models   = []string{"single", "pool", "prefork"}
	Balances = prefork.Balances
)

// Methods a request may use.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// Bounds of the numbers a scenario may ask for. They keep every load loop
// bounded in count and time.
const (
	MaxWorkers      = 1024
	MaxGOMAXPROCS   = 1024
	MaxQueue        = 1 << 20
	MaxBurn         = time.Second
	MaxWeight       = 1_000_000
	MaxConcurrency  = 10_000
	MaxRate         = 1_000_000
	MaxLevels       = 32
	MinDuration     = 100 * time.Millisecond
	MaxDuration     = time.Hour
	MaxWarmup       = 10 * time.Minute
	MaxTrials       = 100
	MinTimeout      = time.Millisecond
	MaxTimeout      = time.Minute
	MaxServers      = 64
	MaxRequests     = 1024
	MaxArgs         = 256
	MaxBody         = 16 << 20 // bytes of a request body
	MaxHeaders      = 64       // headers per request
	MaxReadyTimeout = 10 * time.Minute
)

// serversAllowed is what the servers: section may hold.
const serversAllowed = "a list of servers, each with model:, command: or target:"

func (p *parser) servers(n *yaml.Node) []Server {
	var out []Server
	names := map[string]string{} // name → field of its first use
	p.list(n, "servers", serversAllowed, func(i int, item *yaml.Node) {
		if i >= MaxServers {
			if i == MaxServers {
				p.errorf(item, "servers", fmt.Sprintf("at most %d servers", MaxServers), "too many servers")
			}
			return
		}
		path := fmt.Sprintf("servers[%d]", i)
		s, ok := p.server(item, path)
		if s.Name != "" {
			if first, dup := names[s.Name]; dup {
				p.errorf(item, path+".name", "a name used once per scenario", "%q is already the name of %s", s.Name, first)
				return
			}
			names[s.Name] = path
		}
		if ok {
			out = append(out, s)
		}
	})
	return out
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ReservedEnv are the variables the runner sets for an external server.
var ReservedEnv = []string{"PORT", "ADDR"}

func (p *parser) server(n *yaml.Node, path string) (Server, bool) {
	s := Server{Line: n.Line}
	errs := len(p.errs)
	type set struct {
		line int
		key  string
	}
	var goOnly []set // Go-model fields given, to refuse with command:
	note := func(v *yaml.Node, key string) { goOnly = append(goOnly, set{v.Line, key}) }
	var nameNode, modelNode, targetNode, pidNode, insecureNode, allowRemoteNode *yaml.Node
	var cmdOnly []set // command-only fields given
	p.mapping(n, path, []field{
		{"name", func(v *yaml.Node) { nameNode = v; s.Name = p.name(v, path+".name") }},
		{"model", func(v *yaml.Node) {
			modelNode = v
			m, ok := p.str(v, path+".model")
			if ok && !slices.Contains(Models, m) {
				p.errorf(v, path+".model", strings.Join(Models, ", "), "%q is not a model", m)
				ok = false
			}
			if ok {
				s.Model = m
			} else {
				s.Model = "?" // given but bad: do not also report it missing
			}
		}},
		{"workers", func(v *yaml.Node) { note(v, "workers"); s.Workers, _ = p.intIn(v, path+".workers", 1, MaxWorkers) }},
		{"balance", func(v *yaml.Node) {
			note(v, "balance")
			b, ok := p.str(v, path+".balance")
			if ok && !slices.Contains(Balances, b) {
				p.errorf(v, path+".balance", strings.Join(Balances, ", "), "%q is not a balance mode", b)
				ok = false
			}
			if ok {
				s.Balance = b
			}
		}},
		{"gomaxprocs", func(v *yaml.Node) {
			note(v, "gomaxprocs")
			s.GOMAXPROCS, _ = p.intIn(v, path+".gomaxprocs", 1, MaxGOMAXPROCS)
		}},
		{"burn", func(v *yaml.Node) { note(v, "burn"); s.Burn, _ = p.durIn(v, path+".burn", 0, MaxBurn) }},
		{"queue", func(v *yaml.Node) { note(v, "queue"); s.Queue, _ = p.intIn(v, path+".queue", 1, MaxQueue) }},
		{"command", func(v *yaml.Node) {
			s.Command = p.command(v, path+".command")
			if s.Command == nil {
				s.Command = []string{} // given but bad
			}
		}},
		{"env", func(v *yaml.Node) { s.Env = p.env(v, path+".env") }},
		{"health", func(v *yaml.Node) {
			cmdOnly = append(cmdOnly, set{v.Line, "health"})
			h, ok := p.str(v, path+".health")
			if ok && h != HealthNone && !strings.HasPrefix(h, "/") {
				p.errorf(v, path+".health", "a path such as /healthz, or none (ready when the port accepts a connection)", "%q is not a path", h)
			}
			s.Health = h
		}},
		{"ready_timeout", func(v *yaml.Node) {
			cmdOnly = append(cmdOnly, set{v.Line, "ready_timeout"})
			s.ReadyTimeout, _ = p.durIn(v, path+".ready_timeout", time.Millisecond, MaxReadyTimeout)
		}},
		{"target", func(v *yaml.Node) {
			targetNode = v
			t, ok := p.str(v, path+".target")
			if !ok {
				return
			}
			base, err := TargetBase(t)
			if err != nil {
				p.errorf(v, path+".target", "a URL such as http://127.0.0.1:8080", "%v", err)
				s.Target = "?"
				return
			}
			s.Target = base
		}},
		{"pid", func(v *yaml.Node) { pidNode = v; s.Pid, _ = p.intIn(v, path+".pid", 1, 1<<22) }},
		{"insecure", func(v *yaml.Node) {
			insecureNode = v
			s.Insecure, _ = p.boolean(v, path+".insecure")
		}},
		{"allow_remote", func(v *yaml.Node) {
			allowRemoteNode = v
			s.AllowRemote, _ = p.boolean(v, path+".allow_remote")
		}},
	})
	if n.Kind != yaml.MappingNode {
		return s, false
	}
	if s.Target == "" {
		if pidNode != nil {
			p.errorf(pidNode, path+".pid", "pid: with target: (the process of a server the runner does not start)", "only for target:")
		}
		if insecureNode != nil {
			p.errorf(insecureNode, path+".insecure", "insecure: with an https target:", "only for target:")
		}
		if allowRemoteNode != nil {
			p.errorf(allowRemoteNode, path+".allow_remote", "allow_remote: with target: (the servers the runner starts listen on loopback)", "only for target:")
		}
	}
	if s.Command == nil {
		for _, c := range cmdOnly {
			p.add(c.line, path+"."+c.key, "command: servers (the runner starts them and waits for them)", "only for command:")
		}
	}
	switch {
	case s.Target != "" && (s.Model != "" || s.Command != nil):
		p.errorf(targetNode, path, "one of model: (a Go model), command: (a server the runner starts), target: (a URL of a server you run)", "target: with model: or command:")
	case s.Target != "":
		for _, g := range goOnly {
			p.add(g.line, path+"."+g.key, "name, target, pid", "only for Go models (model:), not for target:")
		}
		if s.Env != nil {
			p.errorf(n, path+".env", "env only with command:", "environment is only passed to external commands")
		}
		if s.Name == "" && nameNode == nil {
			s.Name = "target"
		}
	case s.Model != "" && s.Command != nil:
		p.errorf(modelNode, path, "either model: (a Go model) or command: (an external server)", "has both model and command")
	case s.Model == "" && s.Command == nil:
		p.errorf(n, path, "model: "+strings.Join(Models, "|")+", command: [argv...], or target: URL", "missing model, command or target")
	case s.Command != nil:
		for _, g := range goOnly {
			p.add(g.line, path+"."+g.key, "name, command, env", "only for Go models (model:), not for command:")
		}
	default:
		if s.Env != nil {
			p.errorf(n, path+".env", "env only with command:", "environment is only passed to external commands")
		}
		for _, g := range goOnly {
			var allowedFor []string
			switch g.key {
			case "workers":
				allowedFor = []string{"pool", "prefork"}
			case "balance":
				allowedFor = []string{"prefork"}
			case "queue":
				allowedFor = []string{"pool"}
			case "gomaxprocs":
				// serve applies --gomaxprocs to single only (prefork
				// children always run with GOMAXPROCS=1).
				allowedFor = []string{"single"}
			case "burn":
				continue // every Go model
			}
			if s.Model != "?" && !slices.Contains(allowedFor, s.Model) {
				p.add(g.line, path+"."+g.key, "model "+strings.Join(allowedFor, " or "), "does not apply to model %s", s.Model)
			}
		}
	}
	if s.Name == "" && nameNode == nil {
		switch {
		case s.Model != "" && s.Model != "?":
			s.Name = s.Model
		case s.Command != nil:
			p.errorf(n, path+".name", "a name for each command: server", "missing")
		}
	}
	return s, len(p.errs) == errs
}

func (p *parser) command(n *yaml.Node, path string) []string {
	var argv []string
	bad := false
	if n.Kind == yaml.SequenceNode && len(n.Content) > MaxArgs {
		p.errorf(n, path, fmt.Sprintf("at most %d arguments", MaxArgs), "too many arguments")
		return nil
	}
	p.list(n, path, `an argv list such as [node, servers/node/cluster.js]`, func(i int, item *yaml.Node) {
		a, ok := p.str(item, fmt.Sprintf("%s[%d]", path, i))
		if ok && (a == "" || strings.ContainsRune(a, 0)) {
			p.errorf(item, fmt.Sprintf("%s[%d]", path, i), "non-empty text", "empty argument")
			ok = false
		}
		bad = bad || !ok
		argv = append(argv, a)
	})
	if bad || len(argv) == 0 {
		return nil
	}
	return argv
}

func (p *parser) env(n *yaml.Node, path string) map[string]string {
	if !p.plain(n, path) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "a mapping of NAME: value", "%s is not a mapping", describe(n))
		return nil
	}
	env := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := path + "." + k.Value
		switch {
		case k.Kind != yaml.ScalarNode || !envName.MatchString(k.Value):
			p.errorf(k, path, "names of letters, digits and _, not starting with a digit", "%s is not an environment variable name", describe(k))
			continue
		case slices.Contains(ReservedEnv, k.Value):
			p.errorf(k, key, "any name but "+strings.Join(ReservedEnv, ", "), "%s is set by the runner to the server's address", k.Value)
			continue
		}
		if _, dup := env[k.Value]; dup {
			p.errorf(k, key, "each key once", "given again")
			continue
		}
		if !p.plain(v, key) {
			continue
		}
		if v.Kind != yaml.ScalarNode {
			p.errorf(v, key, "text", "%s is not text", describe(v))
			continue
		}
		env[k.Value] = v.Value // null becomes "", numbers their text
		if v.Tag == "!!null" {
			env[k.Value] = ""
		}
	}
	return env
}

func (p *parser) requests(n *yaml.Node) []Request {
	var out []Request
	p.list(n, "requests", "a list of requests, each with path: and optional method:, weight:", func(i int, item *yaml.Node) {
		if i >= MaxRequests {
			if i == MaxRequests {
				p.errorf(item, "requests", fmt.Sprintf("at most %d requests", MaxRequests), "too many requests")
			}
			return
		}
		path := fmt.Sprintf("requests[%d]", i)
		r := Request{Method: "GET", Weight: 1}
		errs := len(p.errs)
		hasPath := false
		var bodyNode, fileNode *yaml.Node
		p.mapping(item, path, []field{
			{"method", func(v *yaml.Node) {
				m, ok := p.str(v, path+".method")
				if ok && !slices.Contains(Methods, m) {
					p.errorf(v, path+".method", strings.Join(Methods, ", "), "%q is not a method", m)
				}
				r.Method = m
			}},
			{"path", func(v *yaml.Node) { hasPath = true; r.Path = p.requestPath(v, path+".path") }},
			{"weight", func(v *yaml.Node) { r.Weight, _ = p.intIn(v, path+".weight", 1, MaxWeight) }},
			{"headers", func(v *yaml.Node) { r.Headers = p.headers(v, path+".headers") }},
			{"body", func(v *yaml.Node) {
				bodyNode = v
				if b, ok := p.str(v, path+".body"); ok {
					r.Body = []byte(b)
				}
			}},
			{"body_file", func(v *yaml.Node) {
				fileNode = v
				if f, ok := p.str(v, path+".body_file"); ok {
					r.Body = p.bodyFile(v, path+".body_file", f)
				}
			}},
		})
		if bodyNode != nil && fileNode != nil {
			p.errorf(fileNode, path+".body_file", "body: (text) or body_file: (a file beside the scenario), not both", "given with body: (line %d)", bodyNode.Line)
		}
		if item.Kind == yaml.MappingNode && !hasPath {
			p.errorf(item, path+".path", "a path such as / or /calc/fibonacci?n=20", "missing")
		}
		if len(p.errs) == errs {
			out = append(out, r)
		}
	})
	return out
}

func (p *parser) requestPath(n *yaml.Node, name string) string {
	const allowed = "a path starting with /, such as / or /calc/fibonacci?n=20"
	v, ok := p.str(n, name)
	if !ok {
		return ""
	}
	u, err := url.ParseRequestURI(v)
	switch {
	case !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//"):
		p.errorf(n, name, allowed, "%q is not a path", v)
		return ""
	case err != nil || u.Host != "" || u.Fragment != "" || strings.ContainsAny(v, " \t\r\n#"):
		p.errorf(n, name, allowed, "%q is not a valid request path", v)
		return ""
	}
	if kind, ok := strings.CutPrefix(u.Path, "/calc/"); ok {
		if _, _, err := app.ParseCalc(kind, u.RawQuery); err != nil {
			// Checked against the project's servers only (not a target:
			// server's own /calc/): kept until the servers are known.
			p.calcErrs = append(p.calcErrs, &Error{File: p.file, Line: n.Line, Field: name, Problem: fmt.Sprintf("%q: %v", v, err)})
		}
	}
	return v
}

// headers reads a mapping of header names to values.
func (p *parser) headers(n *yaml.Node, path string) http.Header {
	if !p.plain(n, path) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "a mapping of Header-Name: value", "%s is not a mapping", describe(n))
		return nil
	}
	if len(n.Content)/2 > MaxHeaders {
		p.errorf(n, path, fmt.Sprintf("at most %d headers", MaxHeaders), "too many headers")
		return nil
	}
	h := http.Header{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !headerName.MatchString(k.Value) {
			p.errorf(k, path, "header names of letters, digits and !#$%&'*+-.^_`|~", "%s is not a header name", describe(k))
			continue
		}
		val, ok := p.str(v, path+"."+k.Value)
		if ok && strings.ContainsAny(val, "\r\n") {
			p.errorf(v, path+"."+k.Value, "one line of text", "a header value may not contain a line break")
			continue
		}
		h.Add(k.Value, val)
	}
	return h
}

var headerName = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

// bodyFile reads a request body from a file named relative to the
// scenario file's directory.
func (p *parser) bodyFile(n *yaml.Node, name, f string) []byte {
	path := f
	if !filepath.IsAbs(path) && p.file != "-" {
		path = filepath.Join(filepath.Dir(p.file), f)
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		p.errorf(n, name, "a file, relative to the scenario's directory", "%v", err)
		return nil
	case st.Size() > MaxBody:
		p.errorf(n, name, fmt.Sprintf("at most %d bytes", MaxBody), "%s has %d bytes", path, st.Size())
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		p.errorf(n, name, "a readable file", "%v", err)
		return nil
	}
	return b
}

func (p *parser) load(n *yaml.Node) Load {
	l := Load{Duration: DefaultDuration, Warmup: DefaultWarmup, Trials: DefaultTrials, KeepAlive: true, Timeout: DefaultTimeout, Engine: load.EngineLean}
	var modeNode, concNode, rateNode, connNode *yaml.Node
	var conc, rate []int
	p.mapping(n, "load", []field{
		{"mode", func(v *yaml.Node) {
			modeNode = v
			m, ok := p.str(v, "load.mode")
			if ok && m != Closed && m != Open {
				p.errorf(v, "load.mode", Closed+", "+Open, "%q is not a load mode", m)
				ok = false
			}
			if ok {
				l.Mode = m
			}
		}},
		{"concurrency", func(v *yaml.Node) { concNode = v; conc = p.levels(v, "load.concurrency", MaxConcurrency) }},
		{"rate", func(v *yaml.Node) { rateNode = v; rate = p.levels(v, "load.rate", MaxRate) }},
		{"duration", func(v *yaml.Node) {
			if d, ok := p.durIn(v, "load.duration", MinDuration, MaxDuration); ok {
				l.Duration = d
			}
		}},
		{"warmup", func(v *yaml.Node) {
			if d, ok := p.durIn(v, "load.warmup", 0, MaxWarmup); ok {
				l.Warmup = d
			}
		}},
		{"trials", func(v *yaml.Node) {
			if t, ok := p.intIn(v, "load.trials", 1, MaxTrials); ok {
				l.Trials = t
			}
		}},
		{"keepalive", func(v *yaml.Node) {
			if b, ok := p.boolean(v, "load.keepalive"); ok {
				l.KeepAlive = b
			}
		}},
		{"timeout", func(v *yaml.Node) {
			if d, ok := p.durIn(v, "load.timeout", MinTimeout, MaxTimeout); ok {
				l.Timeout = d
			}
		}},
		{"engine", func(v *yaml.Node) {
			p.engineLine = v.Line
			if e, ok := p.str(v, "load.engine"); ok {
				if e != load.EngineLean && e != load.EngineVegeta {
					p.errorf(v, "load.engine", load.EngineLean+", "+load.EngineVegeta, "%q is not an engine", e)
				} else {
					l.Engine = e
				}
			}
		}},
		{"expect_status", func(v *yaml.Node) {
			p.list(v, "load.expect_status", "a list of status codes such as [200, 204]", func(i int, item *yaml.Node) {
				if c, ok := p.intIn(item, fmt.Sprintf("load.expect_status[%d]", i), 100, 599); ok {
					l.Expect = append(l.Expect, c)
				}
			})
		}},
		{"connections", func(v *yaml.Node) {
			connNode = v
			if c, ok := p.intIn(v, "load.connections", 1, MaxConcurrency); ok {
				l.MaxConns = c
			}
		}},
	})
	if n.Kind != yaml.MappingNode {
		return l
	}
	switch {
	case concNode != nil && rateNode != nil:
		p.errorf(rateNode, "load.rate", "concurrency: for a closed loop or rate: for an open loop, not both", "given together with load.concurrency (line %d)", concNode.Line)
	case concNode == nil && rateNode == nil:
		p.errorf(n, "load", "concurrency: [1, 8, 64] for a closed loop, or rate: [500, 1000] for an open loop", "missing concurrency or rate")
	case concNode != nil && connNode != nil:
		p.errorf(connNode, "load.connections", "connections: with rate: (an open loop); a closed loop opens one per concurrency", "given with load.concurrency")
	case concNode != nil:
		if l.Mode == Open {
			p.errorf(modeNode, "load.mode", "rate: with mode open, concurrency: with mode closed", "mode open takes rate:, not concurrency:")
		}
		l.Mode, l.Levels = Closed, conc
	default:
		if l.Mode == Closed {
			p.errorf(modeNode, "load.mode", "rate: with mode open, concurrency: with mode closed", "mode closed takes concurrency:, not rate:")
		}
		l.Mode, l.Levels = Open, rate
	}
	return l
}

// levels is one integer or a list of distinct integers in 1..hi.
func (p *parser) levels(n *yaml.Node, name string, hi int) []int {
	if n.Kind == yaml.ScalarNode {
		if v, ok := p.intIn(n, name, 1, hi); ok {
			return []int{v}
		}
		return nil
	}
	if n.Kind == yaml.SequenceNode && len(n.Content) > MaxLevels {
		p.errorf(n, name, fmt.Sprintf("at most %d levels", MaxLevels), "too many levels")
		return nil
	}
	var out []int
	p.list(n, name, fmt.Sprintf("a list of integers in 1..%d, such as [1, 8, 64]", hi), func(i int, item *yaml.Node) {
		path := fmt.Sprintf("%s[%d]", name, i)
		v, ok := p.intIn(item, path, 1, hi)
		if !ok {
			return
		}
		if slices.Contains(out, v) {
			p.errorf(item, path, "each level once", "%d is listed twice", v)
			return
		}
		out = append(out, v)
	})
	return out
}

func (p *parser) pin(n *yaml.Node) Pin {
	const allowed = "off, auto, or a mapping with server: and client: CPU lists such as \"0\" and \"1\""
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "off":
			return Pin{Disabled: true}
		case "auto":
			return Pin{}
		}
		p.errorf(n, "pin", allowed, "%s is not a pinning", describe(n))
		return Pin{}
	}
	var pin Pin
	var srvNode, cliNode *yaml.Node
	cpus := func(v *yaml.Node, name string) string {
		s, ok := p.str(v, name)
		if !ok {
			return ""
		}
		if _, err := ParseCPUList(s); err != nil {
			p.errorf(v, name, `CPU lists such as "0", "1-3", "0,2"`, "%q: %v", s, err)
			return ""
		}
		return s
	}
	if !p.mapping(n, "pin", []field{
		{"server", func(v *yaml.Node) { srvNode = v; pin.Server = cpus(v, "pin.server") }},
		{"client", func(v *yaml.Node) { cliNode = v; pin.Client = cpus(v, "pin.client") }},
	}) || n.Kind != yaml.MappingNode {
		return pin
	}
	switch {
	case srvNode == nil:
		p.errorf(n, "pin.server", allowed, "missing")
	case cliNode == nil:
		p.errorf(n, "pin.client", allowed, "missing")
	case pin.Server != "" && pin.Client != "":
		a, _ := ParseCPUList(pin.Server)
		b, _ := ParseCPUList(pin.Client)
		for _, c := range a {
			if slices.Contains(b, c) {
				p.errorf(cliNode, "pin.client", "CPU lists that share no CPU", "CPU %d is also in pin.server", c)
				break
			}
		}
	}
	return pin
}

// MaxCPU bounds the CPU numbers of a CPU list.
const MaxCPU = 4095

// ParseCPUList parses a Linux CPU list ("0", "0-3", "0,2,4-5") into the
// sorted, distinct CPU numbers it names.
func ParseCPUList(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty CPU list")
	}
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := cpuNum(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = cpuNum(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("range %s runs backwards", part)
			}
		}
		for c := a; c <= b; c++ {
			if !slices.Contains(cpus, c) {
				cpus = append(cpus, c)
			}
		}
	}
	slices.Sort(cpus)
	return cpus, nil
}

func cpuNum(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > MaxCPU || strings.TrimSpace(s) != s || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a CPU number in 0..%d", s, MaxCPU)
	}
	return n, nil
}
