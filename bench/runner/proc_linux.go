package runner

import (
	"slices"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// survivors returns what Stop must see gone for the server led by pgid:
// the processes of its tree as they are now (a snapshot: descendants lose
// their parent link once it exits), told by pid and start time so that a
// reused pid is not mistaken for one of them, and whatever is in its group
// when asked. A zombie counts as gone.
func survivors(pgid int) func() []int {
	tree, _ := metrics.TreeProcs(pgid)
	return func() []int {
		var pids []int
		for _, q := range tree {
			if metrics.Alive(q) {
				pids = append(pids, q.Pid)
			}
		}
		if group, err := metrics.GroupProcs(pgid); err == nil {
			for _, q := range group {
				if !slices.Contains(pids, q.Pid) {
					pids = append(pids, q.Pid)
				}
			}
		}
		return pids
	}
}
