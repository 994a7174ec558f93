package runner

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// Environment describes this machine and build for a run's record. dir is
// where to ask git for the commit; args is the exact command line.
func Environment(ctx context.Context, dir string, args []string, pin Pinning) results.Environment {
	env := results.Environment{
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		CPUs:       onlineCPUs(),
		CPUModel:   cpuModel(),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Args:       append([]string(nil), args...),
		ServerCPUs: pin.ServerList,
		ClientCPUs: pin.ClientList,
		Pinning:    pin.String(),
	}
	env.Hostname, _ = os.Hostname()
	env.Kernel = kernelRelease()
	env.GitCommit, env.GitDirty = gitState(ctx, dir)
	return env
}

func onlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return runtime.NumCPU()
	}
	cpus, err := scenario.ParseCPUList(strings.TrimSpace(string(b)))
	if err != nil {
		return runtime.NumCPU()
	}
	return len(cpus)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// gitState returns the commit checked out in dir and whether the work tree
// has changes; "" when dir is not in a git work tree or git is missing.
func gitState(ctx context.Context, dir string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := gitCmd(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", false
	}
	status, err := gitCmd(ctx, dir, "status", "--porcelain", "--untracked-files=no")
	return strings.TrimSpace(string(out)), err == nil && len(bytes.TrimSpace(status)) > 0
}

func gitCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	return cmd.Output()
}

// RepoRoot returns the top of the git work tree holding dir, or dir itself.
func RepoRoot(ctx context.Context, dir string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := gitCmd(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return dir
	}
	return string(bytes.TrimSpace(out))
}
