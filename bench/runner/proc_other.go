//go:build !linux

package runner

// survivors is nil without Linux's /proc: Stop then sees the server's
// process group only (spawn.Child.Stop), and on Windows the leader alone.
func survivors(int) func() []int { return nil }
