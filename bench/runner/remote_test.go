package runner

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fakeLookup resolves from a table; a name not in it does not resolve.
func fakeLookup(t *testing.T, table map[string][]string) lookupFunc {
	return func(_ context.Context, network, host string) ([]netip.Addr, error) {
		if network != "ip" {
			t.Errorf("lookup network %q, want ip", network)
		}
		ss, ok := table[host]
		if !ok {
			return nil, errors.New("lookup " + host + ": no such host")
		}
		var addrs []netip.Addr
		for _, s := range ss {
			addrs = append(addrs, netip.MustParseAddr(s))
		}
		return addrs, nil
	}
}

// TestCheckTargetHost: loopback literals and names that resolve only to
// loopback pass; anything else is refused with ErrRemoteTarget unless
// allowed; a name that does not resolve is the unreachable error. The
// resolver is a table, so no real DNS is asked and nothing is dialled.
func TestCheckTargetHost(t *testing.T) {
	table := map[string][]string{
		"localhost":    {"127.0.0.1", "::1"},
		"svc.internal": {"10.1.2.3"},
		"mixed":        {"127.0.0.1", "192.0.2.7"},
		"mapped":       {"::ffff:127.0.0.1"},
		"empty":        {},
	}
	tests := []struct {
		target string
		allow  bool
		want   string // "" = allowed; "remote" = ErrRemoteTarget; else a substring
	}{
		{"http://127.0.0.1:8080", false, ""},
		{"http://127.1.2.3:8080/", false, ""},
		{"http://[::1]:8080", false, ""},
		{"https://localhost", false, ""},
		{"http://mapped:80", false, ""},
		{"http://10.0.0.5:8080/", false, "target http://10.0.0.5:8080/: 10.0.0.5 is not a loopback address (allowed: 127.0.0.0/8, ::1, localhost; pass --allow-remote, or allow_remote: true in the scenario, to load another host)"},
		{"http://192.0.2.1:8080", false, "remote"},
		{"http://[2001:db8::1]:8080", false, "remote"},
		{"http://0.0.0.0:8080", false, "remote"},
		{"http://svc.internal:8080", false, "target http://svc.internal:8080: svc.internal (10.1.2.3) is not a loopback address"},
		{"http://mixed:8080", false, "mixed (192.0.2.7) is not a loopback address"},
		{"http://nowhere.invalid:8080", false, "target http://nowhere.invalid:8080 does not accept connections: lookup nowhere.invalid: no such host"},
		{"http://empty:8080", false, "target http://empty:8080 does not accept connections: lookup empty: no addresses"},
		// opted in: nothing is refused, nothing is looked up
		{"http://10.0.0.5:8080/", true, ""},
		{"http://192.0.2.1:8080", true, ""},
		{"http://svc.internal:8080", true, ""},
		{"http://nowhere.invalid:8080", true, ""},
	}
	for _, tt := range tests {
		lookup := fakeLookup(t, table)
		if tt.allow {
			lookup = func(context.Context, string, string) ([]netip.Addr, error) {
				t.Errorf("%s: looked up with allowRemote", tt.target)
				return nil, errors.New("unexpected lookup")
			}
		}
		err := checkTargetHost(context.Background(), tt.target, tt.allow, lookup)
		switch {
		case tt.want == "":
			if err != nil {
				t.Errorf("%s (allow %v): %v, want allowed", tt.target, tt.allow, err)
			}
		case err == nil:
			t.Errorf("%s (allow %v): allowed, want %q", tt.target, tt.allow, tt.want)
		case tt.want == "remote":
			if !errors.Is(err, ErrRemoteTarget) {
				t.Errorf("%s: %v, want ErrRemoteTarget", tt.target, err)
			}
		default:
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %q, want it to contain %q", tt.target, err, tt.want)
			}
			if remote := strings.Contains(tt.want, "not a loopback"); errors.Is(err, ErrRemoteTarget) != remote {
				t.Errorf("%s: errors.Is(ErrRemoteTarget) = %v, want %v", tt.target, !remote, remote)
			}
		}
	}
}

// TestCheckTargetHostLiteralNoLookup: an IP literal is decided without
// the resolver.
func TestCheckTargetHostLiteralNoLookup(t *testing.T) {
	lookup := func(_ context.Context, _, host string) ([]netip.Addr, error) {
		t.Errorf("looked up %q for an IP literal", host)
		return nil, errors.New("unexpected lookup")
	}
	for _, target := range []string{"http://127.0.0.1:1", "http://[::1]:1", "http://192.0.2.1:1"} {
		_ = checkTargetHost(context.Background(), target, false, lookup)
	}
}
