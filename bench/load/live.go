package load

import (
	"sync/atomic"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// Live is the running count of the trial in progress, for a progress
// display that reads it while the trial runs (Config.Live). One Live
// follows one trial at a time: each Run that is given it starts it over,
// and after a trial ends it keeps that trial's last published count until
// the next begins.
//
// Each event loop, connection shard or result loop publishes into a slot
// of its own (a cache line apart, so publishing never contends): the
// event loop at its timeout check (every 10ms, nothing added to the path
// of a request), a shard of the goroutine-per-connection engine and the
// vegeta result loop after each result. Count may be called from any
// goroutine at any time; it sums the slots, so it may lag a trial by one
// check interval.
type Live struct {
	cur atomic.Pointer[[]liveSlot]
}

// liveSlot is one publisher's running count, padded to a cache line.
type liveSlot struct {
	requests  atomic.Int64
	successes atomic.Int64
	_         [48]byte
}

// publish stores the figures of acc, the publisher's own accumulator.
// A nil slot (no Live) does nothing.
func (s *liveSlot) publish(acc *metrics.Accumulator) {
	if s == nil {
		return
	}
	s.requests.Store(acc.Requests())
	s.successes.Store(acc.Successes())
}

// begin starts a trial with n publishers and returns their slots; on a nil
// Live it returns nil slots, whose publish does nothing.
func (l *Live) begin(n int) []liveSlot {
	if l == nil {
		return nil
	}
	s := make([]liveSlot, n)
	l.cur.Store(&s)
	return s
}

// slot returns slot i of slots, or nil when there is no Live.
func slot(slots []liveSlot, i int) *liveSlot {
	if slots == nil {
		return nil
	}
	return &slots[i]
}

// Count returns the requests completed so far in the current trial (or the
// last one) and how many of them failed or had an unexpected status. A
// nil Live, or one no trial has started, counts zero.
func (l *Live) Count() (requests, errors int64) {
	if l == nil {
		return 0, 0
	}
	p := l.cur.Load()
	if p == nil {
		return 0, 0
	}
	var ok int64
	for i := range *p {
		s := &(*p)[i]
		// successes first: a slot's successes never exceed its requests
		// when read in this order, since both only grow
		good := s.successes.Load()
		requests += s.requests.Load()
		ok += good
	}
	return requests, requests - ok
}
