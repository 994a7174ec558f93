package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
)

// doc builds a scenario file from its sections; an empty section is left
// out, so each test names only what it is about.
func doc(servers, requests, load, extra string) string {
	var b strings.Builder
	b.WriteString("name: t\n")
	for _, s := range []struct{ key, body string }{{"servers", servers}, {"requests", requests}, {"load", load}} {
		if s.body != "" {
			b.WriteString(s.key + ":\n" + s.body)
		}
	}
	b.WriteString(extra)
	return b.String()
}

const (
	okServers  = "  - model: single\n"
	okRequests = "  - path: /\n"
	okLoad     = "  concurrency: [1]\n"
)

func TestParseDefaults(t *testing.T) {
	s, err := Parse("scenarios/mini.yaml", []byte("servers:\n  - model: pool\nrequests:\n  - path: /\nload:\n  concurrency: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		Name: "mini", File: "scenarios/mini.yaml", Dir: "scenarios",
		Servers:  []Server{{Name: "pool", Model: "pool", Line: 2}},
		Requests: []Request{{Method: "GET", Path: "/", Weight: 1}},
		Load: Load{Mode: Closed, Levels: []int{4}, Duration: DefaultDuration, Warmup: DefaultWarmup,
			Trials: DefaultTrials, KeepAlive: true, Timeout: DefaultTimeout, Engine: "lean"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", s, want)
	}
}

func TestParseEverything(t *testing.T) {
	src := `name: all
description: every field
servers:
  - {name: one, model: single, gomaxprocs: 1, burn: 2ms}
  - {model: pool, workers: 3, queue: 10}
  - {name: pf, model: prefork, workers: 4, balance: roundrobin}
  - name: node
    command: [node, servers/node/cluster.js]
    env: {NODE_CLUSTER_SCHED_POLICY: none, N: 3, E: }
requests:
  - path: /
    weight: 3
  - {method: HEAD, path: "/calc/sum?n=10"}
load:
  mode: open
  rate: [100, 200]
  duration: 1m
  warmup: 0s
  trials: 1
  keepalive: false
  timeout: 250ms
  engine: vegeta
  connections: 64
pin:
  server: "0-1"
  client: "2,3"
`
	s, err := Parse("all.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		Name: "all", Description: "every field", File: "all.yaml", Dir: ".",
		Servers: []Server{
			{Name: "one", Model: "single", GOMAXPROCS: 1, Burn: 2 * time.Millisecond, Line: 4},
			{Name: "pool", Model: "pool", Workers: 3, Queue: 10, Line: 5},
			{Name: "pf", Model: "prefork", Workers: 4, Balance: "roundrobin", Line: 6},
			{Name: "node", Command: []string{"node", "servers/node/cluster.js"},
				Env: map[string]string{"NODE_CLUSTER_SCHED_POLICY": "none", "N": "3", "E": ""}, Line: 7},
		},
		Requests: []Request{{Method: "GET", Path: "/", Weight: 3}, {Method: "HEAD", Path: "/calc/sum?n=10", Weight: 1}},
		Load: Load{Mode: Open, Levels: []int{100, 200}, Duration: time.Minute, Warmup: 0, Trials: 1, KeepAlive: false, Timeout: 250 * time.Millisecond,
			Engine: "vegeta", MaxConns: 64},
		Pin: Pin{Server: "0-1", Client: "2,3"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", s, want)
	}
	if !s.Servers[3].External() || s.Servers[0].External() {
		t.Error("External() wrong")
	}
}

func TestParsePin(t *testing.T) {
	for src, want := range map[string]Pin{
		"":                                  {},
		"pin: auto\n":                       {},
		"pin: off\n":                        {Disabled: true},
		"pin: {server: '1', client: '0'}\n": {Server: "1", Client: "0"},
	} {
		s, err := Parse("p.yaml", []byte(doc(okServers, okRequests, okLoad, src)))
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if s.Pin != want {
			t.Errorf("%q: pin = %+v, want %+v", src, s.Pin, want)
		}
	}
}

// TestValidation covers every rule: each case is a file and the exact
// error lines it must produce (all of them, in line order).
func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty file", "", []string{"x.yaml:1: scenario: the file is empty (allowed: a mapping with name, description, servers, requests, load, pin)"}},
		{"not a mapping", "- a\n", []string{`x.yaml:1: scenario: a list is not a mapping (allowed: name, description, servers, requests, load, pin, calc, thresholds, faults)`}},
		{"yaml syntax", "servers: [\n", []string{"x.yaml:1: yaml: did not find expected node content"}},
		{"two documents", doc(okServers, okRequests, okLoad, "---\nname: b\n"), []string{"x.yaml:8: scenario: a second YAML document starts here (allowed: one document per file)"}},
		{"unknown top-level key", doc(okServers, okRequests, okLoad, "color: red\n"), []string{"x.yaml:8: color: unknown field (allowed: name, description, servers, requests, load, pin, calc, thresholds, faults)"}},
		{"duplicate key", doc(okServers, okRequests, okLoad, "name: u\n"), []string{"x.yaml:8: name: given again (first on line 1) (allowed: each key once)"}},
		{"missing sections", "name: t\n", []string{
			"x.yaml:1: servers: missing (allowed: a list of servers, each with model:, command: or target:)",
			"x.yaml:1: requests: missing (allowed: a list of requests, each with path:)",
			"x.yaml:1: load: missing (allowed: a mapping with concurrency: or rate:, duration, warmup, trials, keepalive, timeout, engine, expect_status, connections)"}},
		{"bad name", "name: Hello World\n" + doc(okServers, okRequests, okLoad, "")[8:], []string{
			`x.yaml:1: name: "Hello World" is not a valid name (allowed: lower-case letters, digits, '.', '_', '-', starting with a letter or digit, at most 64 characters)`}},
		{"alias", "name: &a t\ndescription: *a\n" + doc(okServers, okRequests, okLoad, "")[8:], []string{
			"x.yaml:2: description: YAML aliases are not supported (allowed: plain values)"}},
		{"description not text", doc(okServers, okRequests, okLoad, "description: [a]\n"), []string{"x.yaml:8: description: a list is not text (allowed: text)"}},

		// servers
		{"servers empty", doc(" []\n", okRequests, okLoad, "")[:0] + "name: t\nservers: []\nrequests:\n" + okRequests + "load:\n" + okLoad, []string{
			"x.yaml:2: servers: the list is empty (allowed: a list of servers, each with model:, command: or target:)"}},
		{"servers not a list", "servers: single\nrequests:\n" + okRequests + "load:\n" + okLoad, []string{
			`x.yaml:1: servers: "single" is not a list (allowed: a list of servers, each with model:, command: or target:)`}},
		{"server not a mapping", doc("  - single\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0]: "single" is not a mapping (allowed: name, model, workers, balance, gomaxprocs, burn, queue, command, env, health, ready_timeout, target, pid, insecure, allow_remote)`}},
		{"server unknown field", doc("  - {model: single, threads: 2}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].threads: unknown field (allowed: name, model, workers, balance, gomaxprocs, burn, queue, command, env, health, ready_timeout, target, pid, insecure, allow_remote)"}},
		{"neither model nor command", doc("  - name: a\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0]: missing model, command or target (allowed: model: single|pool|prefork, command: [argv...], or target: URL)"}},
		{"both model and command", doc("  - {name: a, model: single, command: [x]}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0]: has both model and command (allowed: either model: (a Go model) or command: (an external server))"}},
		{"bad model", doc("  - model: cluster\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0].model: "cluster" is not a model (allowed: single, pool, prefork)`}},
		{"bad balance", doc("  - model: single\n  - {name: pf, model: prefork, balance: fair}\n", okRequests, okLoad, ""), []string{
			`x.yaml:4: servers[1].balance: "fair" is not a balance mode (allowed: reuseport, shared, roundrobin)`}},
		{"balance on pool", doc("  - {model: pool, balance: shared}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].balance: does not apply to model pool (allowed: model prefork)"}},
		{"workers on single", doc("  - {model: single, workers: 2}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].workers: does not apply to model single (allowed: model pool or prefork)"}},
		{"queue on prefork", doc("  - {model: prefork, queue: 2}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].queue: does not apply to model prefork (allowed: model pool)"}},
		{"workers range", doc("  - {model: pool, workers: 0}\n  - {name: b, model: pool, workers: 5000}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].workers: 0 is out of range (allowed: 1..1024)",
			"x.yaml:4: servers[1].workers: 5000 is out of range (allowed: 1..1024)"}},
		{"workers not an integer", doc("  - {model: pool, workers: two}\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0].workers: "two" is not an integer (allowed: 1..1024)`}},
		{"gomaxprocs on pool and prefork", doc("  - {model: pool, gomaxprocs: 1}\n  - {model: prefork, gomaxprocs: 2}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].gomaxprocs: does not apply to model pool (allowed: model single)",
			"x.yaml:4: servers[1].gomaxprocs: does not apply to model prefork (allowed: model single)"}},
		{"gomaxprocs range", doc("  - {model: single, gomaxprocs: -1}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].gomaxprocs: -1 is out of range (allowed: 1..1024)"}},
		{"burn range", doc("  - {model: single, burn: 2s}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].burn: 2s is out of range (allowed: 0s..1s, written like 500ms, 5s, 1m)"}},
		{"burn not a duration", doc("  - {model: single, burn: 5}\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0].burn: "5" is not a duration (allowed: 0s..1s, written like 500ms, 5s, 1m)`}},
		{"queue range", doc("  - {model: pool, queue: 0}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].queue: 0 is out of range (allowed: 1..1048576)"}},
		{"duplicate names", doc("  - model: single\n  - model: single\n", okRequests, okLoad, ""), []string{
			`x.yaml:4: servers[1].name: "single" is already the name of servers[0] (allowed: a name used once per scenario)`}},
		{"bad server name", doc("  - {name: A/B, model: single}\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0].name: "A/B" is not a valid name (allowed: lower-case letters, digits, '.', '_', '-', starting with a letter or digit, at most 64 characters)`}},
		{"command needs a name", doc("  - command: [node, a.js]\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].name: missing (allowed: a name for each command: server)"}},
		{"command not a list", doc("  - {name: n, command: node a.js}\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0].command: "node a.js" is not a list (allowed: an argv list such as [node, servers/node/cluster.js])`}},
		{"command empty", doc("  - {name: n, command: []}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].command: the list is empty (allowed: an argv list such as [node, servers/node/cluster.js])"}},
		{"command empty argument", doc("  - {name: n, command: [node, '']}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].command[1]: empty argument (allowed: non-empty text)"}},
		{"Go fields on a command", doc("  - {name: n, command: [node], workers: 2, balance: shared}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].workers: only for Go models (model:), not for command: (allowed: name, command, env)",
			"x.yaml:3: servers[0].balance: only for Go models (model:), not for command: (allowed: name, command, env)"}},
		{"env on a Go model", doc("  - {model: single, env: {A: b}}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].env: environment is only passed to external commands (allowed: env only with command:)"}},
		{"env reserved", doc("  - {name: n, command: [node], env: {PORT: 1, ADDR: x}}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].env.PORT: PORT is set by the runner to the server's address (allowed: any name but PORT, ADDR)",
			"x.yaml:3: servers[0].env.ADDR: ADDR is set by the runner to the server's address (allowed: any name but PORT, ADDR)"}},
		{"env bad name", doc("  - {name: n, command: [node], env: {1X: a}}\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0].env: "1X" is not an environment variable name (allowed: names of letters, digits and _, not starting with a digit)`}},
		{"env not a mapping", doc("  - {name: n, command: [node], env: [A=b]}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].env: a list is not a mapping (allowed: a mapping of NAME: value)"}},
		{"env value not text", doc("  - {name: n, command: [node], env: {A: [b]}}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].env.A: a list is not text (allowed: text)"}},

		// requests
		{"request missing path", doc(okServers, "  - weight: 2\n", okLoad, ""), []string{
			"x.yaml:5: requests[0].path: missing (allowed: a path such as / or /calc/fibonacci?n=20)"}},
		{"request unknown field", doc(okServers, "  - {path: /, data: x}\n", okLoad, ""), []string{
			"x.yaml:5: requests[0].data: unknown field (allowed: method, path, weight, headers, body, body_file)"}},
		{"request bad method", doc(okServers, "  - {path: /, method: FETCH}\n", okLoad, ""), []string{
			`x.yaml:5: requests[0].method: "FETCH" is not a method (allowed: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)`}},
		{"request body and body_file", doc(okServers, "  - {path: /, body: x, body_file: b.json}\n", okLoad, ""), []string{
			"x.yaml:5: requests[0].body_file: stat b.json: no such file or directory (allowed: a file, relative to the scenario's directory)", "x.yaml:5: requests[0].body_file: given with body: (line 5) (allowed: body: (text) or body_file: (a file beside the scenario), not both)"}},
		{"request bad header", doc(okServers, "  - {path: /, headers: {\"a b\": x}}\n", okLoad, ""), []string{
			`x.yaml:5: requests[0].headers: "a b" is not a header name (allowed: header names of letters, digits and !#$%&'*+-.^_` + "`" + `|~)`}},
		{"target and model", doc("  - {target: \"http://127.0.0.1:1\", model: single}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0]: target: with model: or command: (allowed: one of model: (a Go model), command: (a server the runner starts), target: (a URL of a server you run))"}},
		{"target bad scheme", doc("  - {target: \"ftp://127.0.0.1:1\"}\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0].target: "ftp://127.0.0.1:1": scheme "ftp" is not supported (allowed: http, https) (allowed: a URL such as http://127.0.0.1:8080)`}},
		{"pid without target", doc("  - {model: single, pid: 12}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].pid: only for target: (allowed: pid: with target: (the process of a server the runner does not start))"}},
		{"allow_remote not a bool", doc("  - {target: \"http://192.0.2.1:1\", allow_remote: yes please}\n", okRequests, okLoad, ""), []string{
			`x.yaml:3: servers[0].allow_remote: "yes please" is not a boolean (allowed: true, false)`}},
		{"allow_remote a list", doc("  - target: \"http://192.0.2.1:1\"\n    allow_remote: [true]\n", okRequests, okLoad, ""), []string{
			`x.yaml:4: servers[0].allow_remote: a list is not a boolean (allowed: true, false)`}},
		{"allow_remote without target", doc("  - {model: single, allow_remote: true}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].allow_remote: only for target: (allowed: allow_remote: with target: (the servers the runner starts listen on loopback))"}},
		{"health on a model", doc("  - {model: single, health: none}\n", okRequests, okLoad, ""), []string{
			"x.yaml:3: servers[0].health: only for command: (allowed: command: servers (the runner starts them and waits for them))"}},
		{"request weight", doc(okServers, "  - {path: /, weight: 0}\n", okLoad, ""), []string{
			"x.yaml:5: requests[0].weight: 0 is out of range (allowed: 1..1000000)"}},
		{"path not absolute", doc(okServers, "  - path: calc\n", okLoad, ""), []string{
			`x.yaml:5: requests[0].path: "calc" is not a path (allowed: a path starting with /, such as / or /calc/fibonacci?n=20)`}},
		{"path with host", doc(okServers, "  - path: //evil.example/\n", okLoad, ""), []string{
			`x.yaml:5: requests[0].path: "//evil.example/" is not a path (allowed: a path starting with /, such as / or /calc/fibonacci?n=20)`}},
		{"path with space", doc(okServers, "  - path: /a b\n", okLoad, ""), []string{
			`x.yaml:5: requests[0].path: "/a b" is not a valid request path (allowed: a path starting with /, such as / or /calc/fibonacci?n=20)`}},
		{"calc out of range", doc(okServers, "  - path: /calc/fibonacci?n=50\n", okLoad, ""), []string{
			`x.yaml:5: requests[0].path: "/calc/fibonacci?n=50": fibonacci: n=50 out of range (allowed: 0..40)`}},
		{"calc unknown kind", doc(okServers, "  - path: /calc/pi?n=5\n", okLoad, ""), []string{
			`x.yaml:5: requests[0].path: "/calc/pi?n=5": unknown calculation "pi" (allowed: factorial, sum, primes, fibonacci)`}},
		{"calc missing n", doc(okServers, "  - path: /calc/sum\n", okLoad, ""), []string{
			`x.yaml:5: requests[0].path: "/calc/sum": sum: missing n (expected n=INTEGER, 0..1000000000)`}},
		{"requests empty", "name: t\nservers:\n" + okServers + "requests: []\nload:\n" + okLoad, []string{
			"x.yaml:4: requests: the list is empty (allowed: a list of requests, each with path: and optional method:, weight:)"}},

		// load
		{"load not a mapping", "name: t\nservers:\n" + okServers + "requests:\n" + okRequests + "load: fast\n", []string{
			`x.yaml:6: load: "fast" is not a mapping (allowed: mode, concurrency, rate, duration, warmup, trials, keepalive, timeout, engine, expect_status, connections)`}},
		{"load without levels", doc(okServers, okRequests, "  duration: 1s\n", ""), []string{
			"x.yaml:7: load: missing concurrency or rate (allowed: concurrency: [1, 8, 64] for a closed loop, or rate: [500, 1000] for an open loop)"}},
		{"concurrency and rate", doc(okServers, okRequests, "  concurrency: [1]\n  rate: [5]\n", ""), []string{
			"x.yaml:8: load.rate: given together with load.concurrency (line 7) (allowed: concurrency: for a closed loop or rate: for an open loop, not both)"}},
		{"bad mode", doc(okServers, okRequests, "  mode: burst\n  concurrency: [1]\n", ""), []string{
			`x.yaml:7: load.mode: "burst" is not a load mode (allowed: closed, open)`}},
		{"mode open with concurrency", doc(okServers, okRequests, "  mode: open\n  concurrency: [1]\n", ""), []string{
			"x.yaml:7: load.mode: mode open takes rate:, not concurrency: (allowed: rate: with mode open, concurrency: with mode closed)"}},
		{"mode closed with rate", doc(okServers, okRequests, "  mode: closed\n  rate: [1]\n", ""), []string{
			"x.yaml:7: load.mode: mode closed takes concurrency:, not rate: (allowed: rate: with mode open, concurrency: with mode closed)"}},
		{"concurrency range and repeats", doc(okServers, okRequests, "  concurrency: [0, 8, 8, 20000]\n", ""), []string{
			"x.yaml:7: load.concurrency[0]: 0 is out of range (allowed: 1..10000)",
			"x.yaml:7: load.concurrency[2]: 8 is listed twice (allowed: each level once)",
			"x.yaml:7: load.concurrency[3]: 20000 is out of range (allowed: 1..10000)"}},
		{"concurrency empty", doc(okServers, okRequests, "  concurrency: []\n", ""), []string{
			"x.yaml:7: load.concurrency: the list is empty (allowed: a list of integers in 1..10000, such as [1, 8, 64])"}},
		{"too many levels", doc(okServers, okRequests, "  concurrency: ["+strings.Repeat("1, ", 33)+"1]\n", ""), []string{
			"x.yaml:7: load.concurrency: too many levels (allowed: at most 32 levels)"}},
		{"rate range", doc(okServers, okRequests, "  rate: [2000000]\n", ""), []string{
			"x.yaml:7: load.rate[0]: 2000000 is out of range (allowed: 1..1000000)"}},
		{"rate as text", doc(okServers, okRequests, "  rate: 1k\n", ""), []string{
			`x.yaml:7: load.rate: "1k" is not an integer (allowed: 1..1000000)`}},
		{"duration range", doc(okServers, okRequests, okLoad+"  duration: 10ms\n", ""), []string{
			"x.yaml:8: load.duration: 10ms is out of range (allowed: 100ms..1h, written like 500ms, 5s, 1m)"}},
		{"duration zero", doc(okServers, okRequests, okLoad+"  duration: 0\n", ""), []string{
			"x.yaml:8: load.duration: 0s is out of range (allowed: 100ms..1h, written like 500ms, 5s, 1m)"}},
		{"warmup negative", doc(okServers, okRequests, okLoad+"  warmup: -1s\n", ""), []string{
			"x.yaml:8: load.warmup: -1s is out of range (allowed: 0s..10m, written like 500ms, 5s, 1m)"}},
		{"trials range", doc(okServers, okRequests, okLoad+"  trials: 0\n", ""), []string{
			"x.yaml:8: load.trials: 0 is out of range (allowed: 1..100)"}},
		{"keepalive not a boolean", doc(okServers, okRequests, okLoad+"  keepalive: yes\n", ""), []string{
			`x.yaml:8: load.keepalive: "yes" is not a boolean (allowed: true, false)`}},
		{"timeout range", doc(okServers, okRequests, okLoad+"  timeout: 2m\n", ""), []string{
			"x.yaml:8: load.timeout: 2m is out of range (allowed: 1ms..1m, written like 500ms, 5s, 1m)"}},
		{"load unknown field", doc(okServers, okRequests, okLoad+"  ramp: 1s\n", ""), []string{
			"x.yaml:8: load.ramp: unknown field (allowed: mode, concurrency, rate, duration, warmup, trials, keepalive, timeout, engine, expect_status, connections)"}},
		{"engine unknown", doc(okServers, okRequests, okLoad+"  engine: wrk\n", ""), []string{
			`x.yaml:8: load.engine: "wrk" is not an engine (allowed: lean, vegeta)`}},
		{"connections with concurrency", doc(okServers, okRequests, okLoad+"  connections: 8\n", ""), []string{
			"x.yaml:8: load.connections: given with load.concurrency (allowed: connections: with rate: (an open loop); a closed loop opens one per concurrency)"}},

		// pin
		{"pin bad word", doc(okServers, okRequests, okLoad, "pin: on\n"), []string{
			`x.yaml:8: pin: "on" is not a pinning (allowed: off, auto, or a mapping with server: and client: CPU lists such as "0" and "1")`}},
		{"pin missing client", doc(okServers, okRequests, okLoad, "pin: {server: '0'}\n"), []string{
			`x.yaml:8: pin.client: missing (allowed: off, auto, or a mapping with server: and client: CPU lists such as "0" and "1")`}},
		{"pin bad list", doc(okServers, okRequests, okLoad, "pin: {server: '3-1', client: x}\n"), []string{
			`x.yaml:8: pin.server: "3-1": range 3-1 runs backwards (allowed: CPU lists such as "0", "1-3", "0,2")`,
			`x.yaml:8: pin.client: "x": "x" is not a CPU number in 0..4095 (allowed: CPU lists such as "0", "1-3", "0,2")`}},
		{"pin overlap", doc(okServers, okRequests, okLoad, "pin:\n  server: 0-1\n  client: '1'\n"), []string{
			"x.yaml:10: pin.client: CPU 1 is also in pin.server (allowed: CPU lists that share no CPU)"}},
		{"pin unknown field", doc(okServers, okRequests, okLoad, "pin: {server: '0', client: '1', cores: 2}\n"), []string{
			"x.yaml:8: pin.cores: unknown field (allowed: server, client)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.src)
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tt.want) {
				t.Errorf("Parse errors:\n%s\nwant:\n%s\nfile:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), tt.src)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) != len(tt.want) {
				t.Errorf("error is %T with %d entries, want Errors with %d", err, len(es), len(tt.want))
			}
		})
	}
}

// TestGoldenErrors parses each testdata/errors/*.yaml, a realistic file
// with several mistakes, and compares every error with its .golden file.
func TestGoldenErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadFile(f)
			if err == nil {
				t.Fatalf("%s parsed without error", f)
			}
			golden.Check(t, strings.TrimSuffix(f, ".yaml")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

// TestShippedScenarios parses every file in scenarios/.
func TestShippedScenarios(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("found %d scenario files (%v), want the shipped ones", len(files), err)
	}
	names := map[string]string{}
	for _, f := range files {
		s, err := LoadFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".yaml"); s.Name != want {
			t.Errorf("%s: name %q, want the file's name %q", f, s.Name, want)
		}
		if other, dup := names[s.Name]; dup {
			t.Errorf("%s and %s share the name %q", f, other, s.Name)
		}
		names[s.Name] = f
		if s.Description == "" {
			t.Errorf("%s: no description", f)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(big)
	if want := big + ":1: scenario: file is too large (allowed: at most 1048576 bytes)"; err == nil || err.Error() != want {
		t.Errorf("big file: %v, want %s", err, want)
	}
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  bool
	}{
		{"0", []int{0}, false},
		{"0-3", []int{0, 1, 2, 3}, false},
		{"3,0-1,1", []int{0, 1, 3}, false},
		{"", nil, true},
		{"a", nil, true},
		{"1-", nil, true},
		{"2-1", nil, true},
		{"-1", nil, true},
		{"+1", nil, true},
		{" 1", nil, true},
		{"4096", nil, true},
		{"0,,1", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseCPUList(tt.in)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

var errorShape = regexp.MustCompile(`^f\.yaml:[1-9][0-9]*: [^\n]+$`)

// FuzzParse: Parse never panics, every error line has the file:line:
// shape, and a scenario it accepts is valid by its own rules.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	more, _ := filepath.Glob("testdata/errors/*.yaml")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(doc(okServers, okRequests, okLoad, "pin: {server: '0', client: '1'}\n")))
	f.Add([]byte(doc(faultServers, okRequests, "  rate: 10\n  duration: 2s\n",
		"faults:\n  - {at: 1s, stall: worker, for: 1ms, pick: id 0}\n  - {at: 1500ms, signal: SIGTERM}\n")))
	f.Add([]byte(doc(faultServers, okRequests, "  rate: 10\n  duration: 2s\n",
		"faults:\n  - {at: 1s, crash_loop: worker, times: 3, every: 100ms, pick: busiest}\n  - {at: 1500ms, signal: SIGTERM}\n")))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("servers: [{<<: {model: single}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %q is not Errors", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !errorShape.MatchString(line) {
					t.Fatalf("error line %q lacks the file:line: shape", line)
				}
			}
			return
		}
		if s.Name == "" || len(s.Servers) == 0 || len(s.Requests) == 0 || len(s.Load.Levels) == 0 ||
			s.Load.Trials < 1 || s.Load.Duration < MinDuration || (s.Load.Mode != Closed && s.Load.Mode != Open) {
			t.Fatalf("accepted an invalid scenario: %+v", s)
		}
		for _, sv := range s.Servers {
			if sv.Name == "" || (sv.Model == "") == (len(sv.Command) == 0) {
				t.Fatalf("accepted an invalid server: %+v", sv)
			}
		}
		for _, f := range s.Faults {
			if f.At < 0 || f.At >= s.Load.Duration || (f.Action == FaultStall) != (f.For > 0) ||
				(f.Action == FaultSignal) != (f.Signal != "") || f.OnWorker() == (f.Pick == "") ||
				(f.Action == FaultCrashLoop) != (f.Times > 0) || f.Times > MaxCrashLoop || f.Every < 0 || f.At+f.Span() >= s.Load.Duration {
				t.Fatalf("accepted an invalid fault: %+v", f)
			}
		}
	})
}

func TestParseWithoutFileName(t *testing.T) {
	_, err := Parse("", []byte("name: [x]\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "-:1: name: ") {
		t.Errorf("error %v, want it to start with -:1: name:", err)
	}
}

// TestTargetAndRequests: a target: server, a POST with headers and a body
// read from a file beside the scenario, and /calc paths not checked
// against the project's bounds when every server is a target.
func TestTargetAndRequests(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `servers:
  - target: "http://127.0.0.1:8080/"
    pid: 42
requests:
  - method: POST
    path: /items
    headers: {Content-Type: application/json, X-Token: t}
    body_file: body.json
  - path: /calc/fibonacci?n=99
load:
  concurrency: [2]
`
	s, err := Parse(filepath.Join(dir, "t.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if sv := s.Servers[0]; sv.Target != "http://127.0.0.1:8080" || sv.Pid != 42 || sv.Name != "target" || !sv.IsTarget() || sv.AllowRemote {
		t.Errorf("server %+v", sv)
	}
	// allow_remote: true is the scenario's opt-in to load another host.
	remote, err := Parse(filepath.Join(dir, "r.yaml"), []byte(strings.Replace(src, "    pid: 42\n", "    allow_remote: true\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !remote.Servers[0].AllowRemote {
		t.Errorf("allow_remote: true: server %+v", remote.Servers[0])
	}
	r := s.Requests[0]
	if r.Method != "POST" || string(r.Body) != `{"a":1}` || r.Headers.Get("Content-Type") != "application/json" || r.Headers.Get("X-Token") != "t" {
		t.Errorf("request %+v", r)
	}
	// The same /calc path is an error for the project's own servers.
	if _, err := Parse("m.yaml", []byte(strings.Replace(src, "  - target: \"http://127.0.0.1:8080/\"\n    pid: 42\n", "  - model: single\n", 1))); err == nil || !strings.Contains(err.Error(), "fibonacci") {
		t.Errorf("a /calc path out of bounds for a Go model: %v", err)
	}
}
