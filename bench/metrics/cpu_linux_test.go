package metrics

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// busyLoop is a shell command that burns CPU for a bounded number of
// iterations (about 0.1-0.3 s on an idle machine), forking nothing.
const busyLoop = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"

// TreeCPU counts a child's whole burn, in nanoseconds, while it runs and
// once it has exited (a zombie), and keeps it (rounded to ticks) once
// this process has reaped it; the figure never goes back but by that
// rounding.
func TestTreeCPUCountsAChildsBurn(t *testing.T) {
	self := os.Getpid()
	before, err := TreeCPU(self)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", busyLoop)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := false
	defer func() {
		if !reaped {
			_ = cmd.Wait()
		}
	}()
	exited := make(chan error, 1)
	go func() { // waits for the exit without reaping (WNOWAIT): the child stays a zombie
		var info unix.Siginfo
		exited <- unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
	}()
	prev, samples := before, 0
	for done := false; !done; {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("waitid: %v", err)
			}
			done = true
		case <-time.After(5 * time.Millisecond):
		}
		now, err := TreeCPU(self)
		if err != nil {
			t.Fatal(err)
		}
		if now < prev {
			t.Errorf("sample %d: TreeCPU went back from %v to %v while the child ran", samples, prev, now)
		}
		prev = now
		samples++
	}
	zombie := prev // sampled after the child had exited, before it was reaped
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	reaped = true
	after, err := TreeCPU(self)
	if err != nil {
		t.Fatal(err)
	}
	child := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	t.Logf("child's own CPU %v (rusage); tree grew %v by its exit (%d samples), %v once it was reaped", child, zombie-before, samples, after-before)
	if child < 20*time.Millisecond {
		t.Fatalf("the child burned only %v: too little to tell nanoseconds from ticks", child)
	}
	// The child ran wholly between before and zombie, and its clock is the
	// counter its rusage reports (in µs): all of it is in the growth, and
	// more (this process's own CPU), however busy the machine.
	if zombie-before < child-time.Millisecond {
		t.Errorf("tree grew %v by the child's exit, less than the child's own %v", zombie-before, child)
	}
	if (zombie-before)%(10*time.Millisecond) == 0 {
		t.Errorf("tree grew by a whole number of ticks (%v): the clock should be finer", zombie-before)
	}
	// Reaped, the child's time is in this process's cutime+cstime, each
	// rounded down to a 10 ms tick.
	if after < zombie-20*time.Millisecond || after-before < child-20*time.Millisecond {
		t.Errorf("after the reap TreeCPU is %v: lost more than the 20ms of rounding (before %v, at the child's exit %v, child %v)", after, before, zombie, child)
	}
}

// A child reaped by a parent inside the tree keeps its CPU time in the
// tree's figure, through the parent's cutime+cstime.
func TestTreeCPUKeepsAChildReapedInside(t *testing.T) {
	// The outer shell runs the loop in a child of its own, reaps it, prints
	// times(1) (its own and its reaped children's user and system time),
	// then waits on its stdin.
	cmd := exec.Command("sh", "-c", "sh -c '"+busyLoop+"'; times; read x")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 2 {
		t.Fatalf("times printed %q, want two lines (%v)", lines, sc.Err())
	}
	reaped := shellTimes(t, lines[1])
	got, err := TreeCPU(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the reaped child's CPU as the shell's times reports it: %v; TreeCPU of the shell: %v", reaped, got)
	if reaped < 20*time.Millisecond {
		t.Fatalf("the inner loop burned only %v: too little to test with", reaped)
	}
	if got < reaped-20*time.Millisecond {
		t.Errorf("TreeCPU %v < the reaped child's %v less 20ms of rounding: its CPU left the tree", got, reaped)
	}
}

// shellTimes adds the two figures of a times(1) line ("0m0.140000s 0m0.004000s").
func shellTimes(t *testing.T, line string) time.Duration {
	m := regexp.MustCompile(`(\d+)m([\d.]+)s`).FindAllStringSubmatch(line, -1)
	if len(m) != 2 {
		t.Fatalf("times line %q: want two figures like 0m0.14s", line)
	}
	var sum time.Duration
	for _, f := range m {
		mins, _ := strconv.Atoi(f[1])
		sec, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			t.Fatalf("times line %q: %v", line, err)
		}
		sum += time.Duration(mins)*time.Minute + time.Duration(sec*float64(time.Second))
	}
	return sum
}
