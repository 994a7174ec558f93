package metrics

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	line := "4242 (my (odd) proc) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 123 456 78 18446744073709551615\n"
	st, err := ParseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := ProcStat{Pid: 4242, PPid: 1, Pgrp: 4240, State: 'S', StartTicks: 123, CPU: 3100 * time.Millisecond}
	if st != want {
		t.Errorf("ParseProcStat = %+v, want %+v", st, want)
	}
	for _, bad := range []string{"", "12 no comm", "x (a) S 1 2", "12 (a) S 1 2 3", "12 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"} {
		if _, err := ParseProcStat([]byte(bad)); err == nil {
			t.Errorf("ParseProcStat(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("4242 (a b) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseProcStat([]byte(s)) // must not panic
	})
}

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

func TestParseSchedstatWait(t *testing.T) {
	if d, err := ParseSchedstatWait([]byte("879927 1181245 2\n")); err != nil || d != 1181245 {
		t.Errorf("ParseSchedstatWait = %v, %v; want 1.181245ms", d, err)
	}
	for _, bad := range []string{"", "12", "1 x 2", "1 -5 2"} {
		if _, err := ParseSchedstatWait([]byte(bad)); err == nil {
			t.Errorf("ParseSchedstatWait(%q) succeeded", bad)
		}
	}
	if _, err := SelfRunQueueWait(); err != nil {
		t.Errorf("SelfRunQueueWait: %v", err)
	}
}
