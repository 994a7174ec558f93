package load

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Target is one entry of the request mix.
type Target struct {
	Method string // "" means GET
	URL    string
	Weight int         // ≥ 1
	Header http.Header // extra request headers; nil for none
	Body   []byte      // request body; nil for none
}

// MaxTotalWeight bounds the sum of the weights of a mix (the size of the
// schedule NewTargeter builds).
const MaxTotalWeight = 1 << 16

// NewTargeter returns a vegeta.Targeter that cycles through a fixed
// schedule in which each target appears Weight times, spread evenly (smooth
// weighted round-robin): weights 3 and 1 give A A B A, A A B A, ... The
// targeter is safe for concurrent use and does not allocate.
func NewTargeter(targets []Target) (vegeta.Targeter, error) {
	sched, err := Schedule(targets)
	if err != nil {
		return nil, err
	}
	tgts := make([]vegeta.Target, len(targets))
	for i, t := range targets {
		m := t.Method
		if m == "" {
			m = http.MethodGet
		}
		tgts[i] = vegeta.Target{Method: m, URL: t.URL, Header: t.Header, Body: t.Body}
	}
	var next atomic.Uint64
	return func(tgt *vegeta.Target) error {
		if tgt == nil {
			return vegeta.ErrNilTarget
		}
		i := (next.Add(1) - 1) % uint64(len(sched))
		*tgt = tgts[sched[i]]
		return nil
	}, nil
}

// Schedule returns the order in which NewTargeter sends the targets: a
// slice of target indexes of length sum(Weight).
func Schedule(targets []Target) ([]int, error) {
	if len(targets) == 0 {
		return nil, errors.New("load: no targets")
	}
	total := 0
	for i, t := range targets {
		if t.Weight < 1 {
			return nil, fmt.Errorf("load: target %d (%s): weight %d (allowed: ≥ 1)", i, t.URL, t.Weight)
		}
		if t.URL == "" {
			return nil, fmt.Errorf("load: target %d: empty URL", i)
		}
		total += t.Weight
		if total > MaxTotalWeight {
			return nil, fmt.Errorf("load: total weight above %d", MaxTotalWeight)
		}
	}
	sched := make([]int, 0, total)
	cur := make([]int, len(targets))
	for range total {
		best := 0
		for i, t := range targets {
			cur[i] += t.Weight
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		sched = append(sched, best)
	}
	return sched, nil
}
