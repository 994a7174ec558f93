package runner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/servers/spawn"
)

// PinningUnavailable says why CPU pinning cannot be used on this system:
// empty on Linux (sched_setaffinity); elsewhere runs go unpinned and say
// so.
const PinningUnavailable = spawn.PinningUnavailable

// Pinning is where the servers and the load generator run.
type Pinning struct {
	Server, Client []int  // CPU numbers, sorted; nil = not pinned
	ServerList     string // Linux CPU list, "" when not pinned
	ClientList     string
	Note           string // how: "sched_setaffinity, auto split of 2 CPUs", "off (pin: off)"…
}

// PlanPinning decides the CPU sets from the scenario's Pin and the CPUs
// this process may use: explicit lists as given (each must be a subset of
// allowed); auto splits allowed in two halves (server first) when there are
// at least two; Disabled, or a single CPU, pins nothing.
func PlanPinning(p scenario.Pin, allowed []int) (Pinning, error) {
	switch {
	case p.Disabled:
		return Pinning{Note: "off (pin: off)"}, nil
	case p.Server != "" || p.Client != "":
		srv, err := subset("server", p.Server, allowed)
		if err != nil {
			return Pinning{}, err
		}
		cli, err := subset("client", p.Client, allowed)
		if err != nil {
			return Pinning{}, err
		}
		pin := Pinning{ServerList: FormatCPUList(srv), ClientList: FormatCPUList(cli)}
		pin.Server, pin.Client = srv, cli
		pin.Note = "sched_setaffinity, CPU lists from the scenario"
		return pin, nil
	case len(allowed) < 2:
		return Pinning{Note: fmt.Sprintf("off (only %d CPU available)", len(allowed))}, nil
	}
	half := (len(allowed) + 1) / 2
	srv, cli := allowed[:half], allowed[half:]
	pin := Pinning{ServerList: FormatCPUList(srv), ClientList: FormatCPUList(cli)}
	pin.Server, pin.Client = srv, cli
	pin.Note = fmt.Sprintf("sched_setaffinity, auto split of %d CPUs", len(allowed))
	return pin, nil
}

func subset(what, list string, allowed []int) ([]int, error) {
	if list == "" {
		return nil, fmt.Errorf("pin: %s CPU list missing (give both server and client, or neither)", what)
	}
	cpus, err := scenario.ParseCPUList(list)
	if err != nil {
		return nil, fmt.Errorf("pin: %s: %w", what, err)
	}
	for _, c := range cpus {
		if !slices.Contains(allowed, c) {
			return nil, fmt.Errorf("pin: %s CPU %d is not available to this process (allowed: %s)", what, c, FormatCPUList(allowed))
		}
	}
	return cpus, nil
}

// planPinning is PlanPinning over the CPUs this process may use. Where CPU
// pinning is not available (PinningUnavailable), nothing is pinned and the
// note says why.
func planPinning(p scenario.Pin) (Pinning, error) {
	if PinningUnavailable != "" && !p.Disabled {
		return Pinning{Note: "off (" + PinningUnavailable + ")"}, nil
	}
	allowed, err := AllowedCPUs()
	if err != nil {
		return Pinning{}, err
	}
	return PlanPinning(p, allowed)
}

// String describes the pinning in one line.
func (p Pinning) String() string {
	if p.Server == nil {
		return p.Note
	}
	return fmt.Sprintf("servers on CPU %s, load generator on CPU %s (%s)", p.ServerList, p.ClientList, p.Note)
}

// FormatCPUList writes sorted CPU numbers as a Linux CPU list ("0-2,5").
func FormatCPUList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// PinThreads confines every thread of this process to cpus (threads created
// later inherit the mask of their creator) and returns a function that puts
// the former masks back. The load generators of run and ab share it.
func PinThreads(cpus []int) (restore func(), err error) {
	restore, err = pinSelf(cpus)
	if err != nil {
		return nil, fmt.Errorf("pin to CPUs %s: %w", FormatCPUList(cpus), err)
	}
	return restore, nil
}
