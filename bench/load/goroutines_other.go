//go:build !linux

package load

import (
	"context"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// run drives the trial on a goroutine per connection: without epoll this
// is the lean engine for http and https alike.
func (t *leanTrial) run(ctx context.Context) (*metrics.Accumulator, time.Duration, error) {
	return t.runGoroutines(ctx)
}
