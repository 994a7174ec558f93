package runner

import (
	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/progress"
)

// newLive returns a running count for the next warm-up or trial (a fresh
// one each time, so that it reads 0, not the last trial's count, until
// the load begins), or nil when nobody listens.
func (r *Runner) newLive() *load.Live {
	if r.Events == nil {
		return nil
	}
	return &load.Live{}
}

// event hands e to r.Events, when set.
func (r *Runner) event(e progress.Event) {
	if r.Events != nil {
		r.Events(e)
	}
}
