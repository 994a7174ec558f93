//go:build linux

package prefork

import (
	"slices"
	"testing"
)

func TestChildEnv(t *testing.T) {
	base := []string{"PATH=/bin", EnvSlot + "=9", EnvAddr + "=old:1", EnvBalance + "=shared", "HOME=/root"}
	got := childEnv(base, []string{"EXTRA=1"}, 2, "127.0.0.1:3000", BalanceRoundRobin)
	want := []string{"PATH=/bin", "HOME=/root", "EXTRA=1", EnvSlot + "=2", EnvAddr + "=127.0.0.1:3000", EnvBalance + "=roundrobin"}
	if !slices.Equal(got, want) {
		t.Errorf("childEnv = %v, want %v", got, want)
	}
}
