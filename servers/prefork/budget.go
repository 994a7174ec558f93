package prefork

import "time"

// crashBudget counts unstable exits in a sliding window. It is not safe for
// concurrent use; the master's supervision loop owns it.
type crashBudget struct {
	budget int
	window time.Duration
	exits  []time.Time // oldest first, at most budget+1 kept
}

// add records an unstable exit at now and reports how many unstable exits
// fall within the window ending at now, and whether that exceeds the budget.
func (b *crashBudget) add(now time.Time) (count int, tripped bool) {
	cutoff := now.Add(-b.window)
	kept := b.exits[:0]
	for _, t := range b.exits {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	b.exits = append(kept, now)
	if len(b.exits) > b.budget+1 {
		b.exits = b.exits[len(b.exits)-(b.budget+1):]
	}
	return len(b.exits), len(b.exits) > b.budget
}

// backoff is the delay before restarting a slot after its n-th consecutive
// unstable exit (n ≥ 1): min doubled n-1 times, capped at max. After a
// stable exit (n = 0) the slot restarts at once.
func backoff(n int, min, max time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

// unstable reports whether an unasked exit counts against the crash budget:
// the child never became ready, or it lived less than minUptime.
func unstable(ready bool, uptime, minUptime time.Duration) bool {
	return !ready || uptime < minUptime
}
