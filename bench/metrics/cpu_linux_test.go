package metrics

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestProcsSeeThisProcess(t *testing.T) {
	pgid := syscall.Getpgrp()
	procs, err := GroupProcs(pgid)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range procs {
		found = found || p.Pid == os.Getpid()
	}
	if !found {
		t.Fatalf("GroupProcs(%d) = %+v: does not list this process %d", pgid, procs, os.Getpid())
	}
	tree, err := TreeProcs(os.Getpid())
	if err != nil || len(tree) == 0 || tree[0].Pid != os.Getpid() && !Alive(tree[0]) {
		t.Fatalf("TreeProcs(self) = %+v, %v", tree, err)
	}
	before, err := TreeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self0, _ := SelfCPU()
	// Burn CPU until the kernel's tick-granular counter has moved.
	deadline := time.Now().Add(10 * time.Second)
	var after time.Duration
	for time.Now().Before(deadline) {
		spin(20 * time.Millisecond)
		if after, err = TreeCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if after > before {
			break
		}
	}
	if after <= before {
		t.Errorf("tree CPU did not grow while this process burned CPU: %v → %v", before, after)
	}
	if self1, _ := SelfCPU(); self1 <= self0 {
		t.Errorf("SelfCPU did not grow: %v → %v", self0, self1)
	}
	if n := AllowedCPUs(); n < 1 {
		t.Errorf("AllowedCPUs = %d", n)
	}
}

var spinSink int

func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 1000 {
			spinSink += i
		}
	}
}

func TestSelfSched(t *testing.T) {
	snap, err := SelfSched()
	if err != nil || len(snap) == 0 {
		t.Errorf("SelfSched = %v, %v", snap, err)
	}
}

// A child that has exited but is not reaped yet still counts in TreeCPU
// (its figures move to its parent only when it is reaped), and no longer
// in TreeProcs (it is not alive).
func TestTreeCPUCountsUnreapedChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait() // reaps it at the end, not before
	pid := cmd.Process.Pid
	var zombie ProcStat
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		procs, err := treeProcs(os.Getpid(), true)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(procs, func(p ProcStat) bool { return p.Pid == pid })
		if i >= 0 && procs[i].State == 'Z' {
			zombie = procs[i]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d did not exit within 30s", pid)
		}
	}
	if zombie.CPU <= 0 {
		t.Fatalf("unreaped child %+v: no CPU time in its stat, want the loop's", zombie)
	}
	live, err := TreeProcs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(live, func(p ProcStat) bool { return p.Pid == pid }) {
		t.Errorf("TreeProcs lists the exited child %d as alive", pid)
	}
	var self time.Duration
	for _, p := range live {
		self += p.CPU
	}
	total, err := TreeCPU(os.Getpid()) // sampled after live: CPU times only grow
	if err != nil {
		t.Fatal(err)
	}
	if total < self+zombie.CPU {
		t.Errorf("TreeCPU %v < live processes %v + unreaped child %v", total, self, zombie.CPU)
	}
}
