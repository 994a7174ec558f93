package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// LoopbackAllowed is what a target may name without an opt-in to load
// another host.
const LoopbackAllowed = "127.0.0.0/8, ::1, localhost"

// TargetLookupTimeout bounds the name lookup of CheckTargetHost.
const TargetLookupTimeout = 2 * time.Second

// ErrRemoteTarget is CheckTargetHost's error for a target whose host is
// not loopback, sent without the opt-in: a usage error, not a failed
// measurement.
var ErrRemoteTarget = errors.New("not a loopback address")

// lookupFunc resolves a host name to its addresses, as
// net.Resolver.LookupNetIP does.
type lookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// CheckTargetHost refuses a target URL (scheme://host[:port][/...]) whose
// host is not loopback unless allowRemote: load goes to the user's own
// machine unless they say otherwise, so that a mistyped address does not
// load someone else's server. An IP literal is checked as written; a
// name is resolved (net.DefaultResolver, within TargetLookupTimeout) and
// counts as loopback only if every address it resolves to is loopback.
// A name that does not resolve is the error Reachable gives for a target
// that does not accept connections. A refused host wraps ErrRemoteTarget.
// With allowRemote nothing is looked up.
//
// The check resolves the name once; the dial resolves it again, so a
// name whose addresses change in between is not caught: it guards against
// mistakes, not against the resolver.
func CheckTargetHost(ctx context.Context, target string, allowRemote bool) error {
	return checkTargetHost(ctx, target, allowRemote, net.DefaultResolver.LookupNetIP)
}

func checkTargetHost(ctx context.Context, target string, allowRemote bool, lookup lookupFunc) error {
	if allowRemote {
		return nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("target %s: %w", target, err)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("target %s has no host (allowed: %s)", target, LoopbackAllowed)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Unmap().IsLoopback() {
			return nil
		}
		return remoteError(target, host)
	}
	lctx, cancel := context.WithTimeout(ctx, TargetLookupTimeout)
	defer cancel()
	addrs, err := lookup(lctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("lookup %s: no addresses", host)
	}
	if err != nil {
		return fmt.Errorf("target %s does not accept connections: %w", target, err)
	}
	var remote []string
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			remote = append(remote, a.String())
		}
	}
	if len(remote) > 0 {
		return remoteError(target, host+" ("+strings.Join(remote, ", ")+")")
	}
	return nil
}

func remoteError(target, host string) error {
	return fmt.Errorf("target %s: %s is %w (allowed: %s; pass --allow-remote, or allow_remote: true in the scenario, to load another host)",
		target, host, ErrRemoteTarget, LoopbackAllowed)
}
