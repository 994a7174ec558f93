package faults

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// treeProcs lists a server's processes; a variable so that tests can
// give a process tree without starting one.
var treeProcs = metrics.TreeProcs

// Workers returns the worker processes of the server whose leader is
// root: the children of its master, ordered by pid. The master is root,
// or, when root only wraps it (a single child that has children of its
// own, as `sh -c` or `npm start` would), that child, followed down.
func Workers(root int) (master int, workers []metrics.ProcStat, err error) {
	procs, err := treeProcs(root)
	if err != nil {
		return 0, nil, fmt.Errorf("read the server's process tree: %w", err)
	}
	return workersOf(root, procs)
}

func workersOf(root int, procs []metrics.ProcStat) (int, []metrics.ProcStat, error) {
	children := func(pid int) []metrics.ProcStat {
		var out []metrics.ProcStat
		for _, p := range procs {
			if p.PPid == pid && p.Pid != pid {
				out = append(out, p)
			}
		}
		return out
	}
	master := root
	kids := children(master)
	for depth := 0; len(kids) == 1 && depth < 8; depth++ {
		grand := children(kids[0].Pid)
		if len(grand) == 0 {
			break
		}
		master, kids = kids[0].Pid, grand
	}
	slices.SortFunc(kids, func(a, b metrics.ProcStat) int { return a.Pid - b.Pid })
	if !slices.ContainsFunc(procs, func(p metrics.ProcStat) bool { return p.Pid == root }) {
		return master, kids, errServerGone
	}
	return master, kids, nil
}

var errServerGone = errors.New("the server had exited")

// Gone reports whether the server led by pid has exited: exited says so
// (its leader was reaped), or, on Linux, the leader is a zombie or gone
// from /proc (reaping waits for the output pipes, which its children may
// hold open a while longer).
func Gone(pid int, exited func() bool) bool {
	if exited() {
		return true
	}
	if runtime.GOOS != "linux" {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	st, err := metrics.ParseProcStat(b)
	return err == nil && (st.State == 'Z' || st.State == 'X')
}

func pids(ps []metrics.ProcStat) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Pid
	}
	return out
}

// pick chooses the worker a fault acts on among workers (non-empty):
// the one that used the most CPU since cpu0 was read (busiest; a worker
// born since counts all its CPU), any (random), or the live one that
// answered as X-Worker-Id f.ID most recently (id; answered maps worker
// ids to the pids seen answering, oldest first).
func pick(f scenario.Fault, workers []metrics.ProcStat, cpu0 map[int]time.Duration, answered map[string][]int, rnd *rand.Rand) (metrics.ProcStat, error) {
	switch f.Pick {
	case scenario.PickBusiest:
		best, used := workers[0], time.Duration(-1)
		for _, w := range workers {
			if u := w.CPU - cpu0[w.Pid]; u > used {
				best, used = w, u
			}
		}
		return best, nil
	case scenario.PickID:
		seen := answered[strconv.Itoa(f.ID)]
		for i := len(seen) - 1; i >= 0; i-- {
			for _, w := range workers {
				if w.Pid == seen[i] {
					return w, nil
				}
			}
		}
		return metrics.ProcStat{}, fmt.Errorf("no live worker process answered as X-Worker-Id %d (pids seen for it: %v)", f.ID, seen)
	}
	return workers[rnd.IntN(len(workers))], nil
}
