package faults

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

func TestWorkersOf(t *testing.T) {
	prefork := []metrics.ProcStat{{Pid: 10, PPid: 1}, {Pid: 13, PPid: 10}, {Pid: 11, PPid: 10}, {Pid: 12, PPid: 10}}
	master, ws, err := workersOf(10, prefork)
	if err != nil || master != 10 || !reflect.DeepEqual(pids(ws), []int{11, 12, 13}) {
		t.Errorf("prefork: master %d workers %v err %v; want 10, [11 12 13]", master, pids(ws), err)
	}
	// sh -c wrapping node: the wrapper's only child is the master
	wrapped := []metrics.ProcStat{{Pid: 20, PPid: 1}, {Pid: 21, PPid: 20}, {Pid: 23, PPid: 21}, {Pid: 22, PPid: 21}}
	master, ws, err = workersOf(20, wrapped)
	if err != nil || master != 21 || !reflect.DeepEqual(pids(ws), []int{22, 23}) {
		t.Errorf("wrapped: master %d workers %v err %v; want 21, [22 23]", master, pids(ws), err)
	}
	// one worker without children of its own is a worker, not a master
	one := []metrics.ProcStat{{Pid: 30, PPid: 1}, {Pid: 31, PPid: 30}}
	if master, ws, _ = workersOf(30, one); master != 30 || !reflect.DeepEqual(pids(ws), []int{31}) {
		t.Errorf("one worker: master %d workers %v; want 30, [31]", master, pids(ws))
	}
	if _, _, err := workersOf(40, prefork); err != errServerGone {
		t.Errorf("a root not in the tree: %v, want %v", err, errServerGone)
	}
}

func TestPick(t *testing.T) {
	ws := []metrics.ProcStat{{Pid: 11, CPU: 5 * time.Second}, {Pid: 12, CPU: 3 * time.Second}, {Pid: 13, CPU: time.Second}}
	cpu0 := map[int]time.Duration{11: 4900 * time.Millisecond, 12: time.Second} // 13 was born since: all its CPU counts
	rnd := rand.New(rand.NewPCG(1, 2))
	w, err := pick(scenario.Fault{Pick: scenario.PickBusiest}, ws, cpu0, nil, rnd)
	if err != nil || w.Pid != 12 {
		t.Errorf("busiest = %d, %v; want 12 (2s since the start)", w.Pid, err)
	}
	answered := map[string][]int{"1": {12, 99}, "0": {11}}
	w, err = pick(scenario.Fault{Pick: scenario.PickID, ID: 1}, ws, cpu0, answered, rnd)
	if err != nil || w.Pid != 12 {
		t.Errorf("id 1 = %d, %v; want 12 (99 is not alive)", w.Pid, err)
	}
	if _, err := pick(scenario.Fault{Pick: scenario.PickID, ID: 5}, ws, cpu0, answered, rnd); err == nil {
		t.Error("id 5, which never answered: no error")
	}
	seen := map[int]bool{}
	for range 100 {
		w, _ := pick(scenario.Fault{Pick: scenario.PickRandom}, ws, cpu0, nil, rnd)
		seen[w.Pid] = true
	}
	if len(seen) != 3 {
		t.Errorf("random picked %v in 100 tries, want each of the 3 workers", seen)
	}
}
