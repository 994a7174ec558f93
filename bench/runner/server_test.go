//go:build linux

package runner

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

func startChild(t *testing.T, mode string) (*Proc, string) {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartProc(ProcSpec{Name: mode, Argv: childArgv(t), Env: []string{childEnv + "=" + mode, "ADDR=" + addr}, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(time.Second) })
	return p, addr
}

func TestProcReadyAndStop(t *testing.T) {
	p, addr := startChild(t, "server")
	if err := p.WaitReady(context.Background(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Worker-Id") != "0" {
		t.Errorf("headers %v: the child is not our server", resp.Header)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if left, _ := metrics.GroupProcs(p.Pid()); len(left) > 0 {
		t.Errorf("processes left in group %d: %+v", p.Pid(), left)
	}
}

func TestStopKillsAStubbornGroup(t *testing.T) {
	p, _ := startChild(t, "server-with-stubborn-child")
	if err := p.WaitReady(context.Background(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// Wait until the grandchildren run (the server announces them).
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.Output(), "grandchildren") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	procs, err := metrics.TreeProcs(p.Pid())
	if err != nil || len(procs) != 3 {
		t.Fatalf("tree of %d is %+v (err %v), want the server and its 2 grandchildren", p.Pid(), procs, err)
	}
	group, _ := metrics.GroupProcs(p.Pid())
	if len(group) != 2 {
		t.Fatalf("group %d is %+v, want the server and one grandchild (the other has its own group)", p.Pid(), group)
	}
	if err := p.Stop(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, q := range procs {
		if metrics.Alive(q) {
			t.Errorf("process %d of the server's tree alive after Stop", q.Pid)
		}
	}
}

func TestNeverHealthyReportsOutput(t *testing.T) {
	p, _ := startChild(t, "never-healthy")
	err := p.WaitReady(context.Background(), 1500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not healthy after") || !strings.Contains(err.Error(), "the frobnicator is unplugged") {
		t.Fatalf("WaitReady error = %v; want 'not healthy after' with the server's stderr", err)
	}
}

func TestEarlyExitReportsOutput(t *testing.T) {
	p, _ := startChild(t, "exit")
	err := p.WaitReady(context.Background(), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") ||
		!strings.Contains(err.Error(), "exit status 7") || !strings.Contains(err.Error(), "cannot open config file") {
		t.Fatalf("WaitReady error = %v; want the exit status and the server's stderr", err)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	for _, s := range []string{"hello ", "wonderful ", "world"} {
		_, _ = b.Write([]byte(s))
	}
	if got := b.String(); got != "ul world" {
		t.Errorf("tail = %q, want the last 8 bytes %q", got, "ul world")
	}
}

func TestProcPinnedToItsCPUs(t *testing.T) {
	allowed, err := AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(allowed) < 2 {
		t.Skipf("pinning needs 2 CPUs to show anything; this process may use only %v", allowed)
	}
	want := allowed[len(allowed)-1]
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartProc(ProcSpec{Name: "pinned", Argv: childArgv(t), Env: []string{childEnv + "=server", "ADDR=" + addr}, Addr: addr, CPUs: []int{want}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if err := p.WaitReady(context.Background(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/affinity")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got := string(b); got != FormatCPUList([]int{want}) {
		t.Errorf("server runs on CPUs %q, want %d", got, want)
	}
	if mine, _ := AllowedCPUs(); len(mine) != len(allowed) {
		t.Errorf("starting a pinned server changed this process's CPUs: %v → %v", allowed, mine)
	}
}
