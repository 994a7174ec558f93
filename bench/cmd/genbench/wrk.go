//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/clusterbench/clusterbench/servers/spawn"
)

// runWrk runs `wrk -t1 -c<conns> -d<d> --latency url` as a child pinned to
// cpus (when given) and returns its requests, errors and CPU time (rusage).
func runWrk(parent context.Context, path string, cpus []int, conns int, url string, d time.Duration) (sample, error) {
	limit := d + 10*time.Second // a wrk that hangs is killed
	ctx, cancel := context.WithTimeout(parent, limit)
	defer cancel()
	var out bytes.Buffer
	// wrk stays in our process group (a terminal's Ctrl-C reaches it too),
	// dies with us (Pdeathsig) and inherits cpus from its first instruction.
	state, err := spawn.Run(ctx, spawn.Spec{
		Argv:   []string{path, "-t1", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d/time.Second)) + "s", "--latency", url},
		Stdout: &out, Stderr: &out,
		CPUs:      cpus,
		SameGroup: true,
		WaitDelay: time.Second,
	})
	if err != nil {
		if parent.Err() != nil {
			return sample{}, fmt.Errorf("interrupted: %w", context.Cause(parent))
		} else if ctx.Err() != nil {
			err = fmt.Errorf("killed after %s", limit)
		}
		return sample{}, fmt.Errorf("wrk: %w: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	s, err := parseWrk(out.String())
	if err != nil {
		return sample{}, err
	}
	s.cpu = state.UserTime() + state.SystemTime()
	return s, nil
}

var (
	wrkTotal  = regexp.MustCompile(`(\d+) requests in ([0-9.]+[a-z]+),`)
	wrkRate   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkSocket = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads the request count ("N requests in 3.00s, ..."), the time
// (from Requests/sec, which is more precise, when present) and the errors
// (socket errors and non-2xx or 3xx responses) from wrk's output.
func parseWrk(out string) (sample, error) {
	m := wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return sample{}, fmt.Errorf("wrk: no \"N requests in T\" line in its output: %q", out)
	}
	var s sample
	s.requests, _ = strconv.ParseInt(m[1], 10, 64)
	wall, err := time.ParseDuration(m[2])
	if err != nil || wall <= 0 {
		return sample{}, fmt.Errorf("wrk: time %q: not a duration", m[2])
	}
	s.wall = wall
	if r := wrkRate.FindStringSubmatch(out); r != nil {
		if rate, err := strconv.ParseFloat(r[1], 64); err == nil && rate > 0 {
			s.wall = time.Duration(float64(s.requests) / rate * float64(time.Second))
		}
	}
	var counts []string
	if e := wrkSocket.FindStringSubmatch(out); e != nil {
		counts = e[1:]
	}
	if e := wrkNon2xx.FindStringSubmatch(out); e != nil {
		counts = append(counts, e[1])
	}
	for _, c := range counts {
		n, _ := strconv.ParseInt(c, 10, 64)
		s.errors += n
	}
	return s, nil
}
