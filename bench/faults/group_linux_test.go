package faults

import (
	"context"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/servers/spawn"
)

// startGroup starts spec as the leader of its own process group (spawn's
// default) and returns it as a Server with its Child. Cleanup stops it
// (SIGTERM to the group, up to grace, then SIGKILL) and fails t when the
// leader was not reaped or a process of the group is left.
func startGroup(t *testing.T, spec spawn.Spec, grace time.Duration) (Server, *spawn.Child) {
	t.Helper()
	c, err := spawn.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	pgid := c.Pid()
	t.Cleanup(func() {
		if err := c.StopWith(grace, groupLeft(pgid)); err != nil {
			t.Error(err)
		}
	})
	return Server{Pid: pgid, Exited: c.Exited}, c
}

// groupLeft lists the processes in group pgid; when /proc cannot be read
// it lists the leader, so that a stop never passes unseen.
func groupLeft(pgid int) func() []int {
	return func() []int {
		procs, err := metrics.GroupProcs(pgid)
		if err != nil {
			return []int{pgid}
		}
		pids := make([]int, len(procs))
		for i, p := range procs {
			pids[i] = p.Pid
		}
		return pids
	}
}
