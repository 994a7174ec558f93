package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/k8s"
)

// DefaultStartIn is how long after `k8s job` prints the manifest its
// shards start: time to apply it, schedule the pods and pull the image.
const DefaultStartIn = 2 * time.Minute

type k8sOptions struct {
	verb    string
	spec    k8s.Spec
	startIn time.Duration
	command []string // after --
}

var k8sHelp = cmdHelp{
	Usage: "clusterbench k8s job --shards N --image IMAGE [flags] -- run|load ARGS...",
	About: `Splits one load across N pods of a Kubernetes Indexed Job (batch/v1, completionMode: Indexed,
parallelism = completions = N). 'k8s job' prints the Job (YAML for kubectl apply): pod i runs
'clusterbench ARGS --allow-remote --shard auto/N --start-at T --out DIR' (its target is a
service of the cluster, not loopback), taking its index from JOB_COMPLETION_INDEX and its
share of every rate or concurrency level (rate/N, the remainder spread so the shares add up
exactly); every pod waits until T (now + --start-in) and starts
its warm-up then. Each pod writes a run directory to DIR: an emptyDir by default, which the
pod keeps after the run until collected (at most --hold), or the claim --pvc names.
Collect each pod's directory (the image has no tar or shell, so use the binary's own):
  kubectl exec POD -- /clusterbench k8s tar > shard-I.tar   (also ends the pod's hold)
then unpack them and run 'clusterbench merge' on the shard directories.
Inside a pod: 'k8s shard [--dir D --hold H] -- ARGS' runs ARGS then holds;
'k8s tar [--dir D]' writes D as a tar to stdout.`,
	Examples: []string{
		"clusterbench k8s job --shards 4 --image registry.example/clusterbench:v1 --cpu 2 --memory 512Mi -- load http://hello.perf.svc:8080/ -r 8000 -d 30s > job.yaml",
		"clusterbench k8s job --shards 8 --image registry.example/clusterbench:v1 --pvc bench-results --start-in 5m -- load http://api.prod.svc/items -c 512 -d 1m",
	},
	Exits: []string{exitOKLine, exitUsageLine + "; the command after -- is checked as run or load would check it",
		"3  k8s shard: the run failed (run's and load's codes pass through); k8s tar: the directory could not be read"},
}

func parseK8s(stdout io.Writer, args []string) (k8sOptions, error) {
	var o k8sOptions
	fs := newFlags("k8s")
	fs.IntVar(&o.spec.Shards, "shards", 0, "job: the number of shards, pods running in parallel (1.."+strconv.Itoa(k8s.MaxShards)+")")
	fs.StringVar(&o.spec.Image, "image", "", "job: the image with the clusterbench binary at "+k8s.DefaultBinary+" (bench/k8s/Containerfile)")
	fs.StringVar(&o.spec.Name, "name", k8s.DefaultName, "job: the Job's name")
	fs.StringVarP(&o.spec.Namespace, "namespace", "n", "", "job: the Job's namespace (default: kubectl's)")
	fs.DurationVar(&o.startIn, "start-in", DefaultStartIn, "job: the shards start this long after the manifest is printed (all at the same instant)")
	fs.StringVar(&o.spec.CPU, "cpu", "", "job: each pod's CPU request and limit, e.g. 2 or 1500m")
	fs.StringVar(&o.spec.Memory, "memory", "", "job: each pod's memory request and limit, e.g. 512Mi")
	fs.StringVar(&o.spec.PVC, "pvc", "", "job: write the results to this PersistentVolumeClaim, mounted by every pod (default: an emptyDir per pod)")
	fs.StringVar(&o.spec.ResultsDir, "dir", k8s.DefaultResultsDir, "where the run directories are written in the pod")
	fs.DurationVar(&o.spec.Hold, "hold", k8s.DefaultHold, "with an emptyDir: how long a pod keeps its results for 'k8s tar' after the run")
	if err := parseFlags(fs, k8sHelp, stdout, args); err != nil {
		return o, err
	}
	pos, cmd := fs.Args(), []string(nil)
	if at := fs.ArgsLenAtDash(); at >= 0 {
		pos, cmd = fs.Args()[:at], fs.Args()[at:]
	}
	if len(pos) != 1 || !slices.Contains([]string{"job", "shard", "tar"}, pos[0]) {
		return o, usageError("k8s takes one of job, shard, tar, got %q (usage: %s)", pos, k8sHelp.Usage)
	}
	o.verb, o.command = pos[0], cmd
	if o.verb == "tar" {
		if len(cmd) > 0 {
			return o, usageError("k8s tar takes no command after --, got %q", cmd)
		}
		return o, nil
	}
	if len(cmd) == 0 || (cmd[0] != "run" && cmd[0] != "load") {
		return o, usageError("k8s %s: no run or load command after -- (usage: %s)", o.verb, k8sHelp.Usage)
	}
	if o.spec.Hold < 0 {
		return o, usageError("--hold %s out of range (allowed: ≥ 0)", o.spec.Hold)
	}
	if o.verb == "shard" {
		return o, nil
	}
	for _, f := range []string{"shards", "image"} {
		if !fs.Changed(f) {
			return o, usageError("job: --%s is required", f)
		}
	}
	if o.startIn <= 0 {
		return o, usageError("--start-in %s out of range (allowed: > 0: the pods need time to start)", o.startIn)
	}
	if o.spec.Hold == 0 && o.spec.PVC == "" {
		// a Spec's zero Hold means k8s.DefaultHold: refused rather than
		// turned silently into it
		return o, usageError("--hold 0 with an emptyDir: the pod would end, and its results with it, before 'k8s tar' could collect them (allowed: --hold > 0, or --pvc)")
	}
	o.spec.Args = cmd
	return o, nil
}

func runK8s(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	o, err := parseK8s(stdout, args)
	if err != nil {
		return err
	}
	switch o.verb {
	case "shard":
		return k8sShard(ctx, stdout, stderr, o)
	case "tar":
		return k8sTar(stdout, o.spec.ResultsDir)
	}
	o.spec.StartAt = time.Now().Add(o.startIn).UTC().Truncate(time.Second)
	if err := o.spec.Check(); err != nil {
		return usageError("job: %v", err)
	}
	// Check the command as the pods will run it, so that a bad flag fails
	// here rather than in every pod. Index 0 speaks for every pod:
	// shard.Levels checks the shares of all indexes alike.
	probe := append(slices.Clone(o.spec.Args[1:]), "--allow-remote", "--shard", "0/"+strconv.Itoa(o.spec.Shards),
		"--start-at", o.spec.StartAt.Format(time.RFC3339Nano))
	if o.spec.Args[0] == "run" {
		err = probeRun(probe)
	} else {
		_, _, err = parseLoad(io.Discard, probe)
	}
	if errors.Is(err, pflag.ErrHelp) {
		return usageError("job: --help in the command after -- (allowed: the flags of %s)", o.spec.Args[0])
	}
	if err != nil {
		return usageError("job: the command after --: %v", err)
	}
	b, err := k8s.Manifest(o.spec)
	if err != nil {
		return usageError("job: %v", err)
	}
	_, err = stdout.Write(b)
	return err
}

// probeRun checks a run command line as a pod will run it: its flags, and
// each scenario found here (a file, or one built into the binary): that
// it loads and how it shards. A scenario not found here may be in the
// image and is not checked; one found here that does not load is an
// error, since it would fail in every pod.
func probeRun(args []string) error {
	o, err := parseRun(io.Discard, args)
	if err != nil {
		return err
	}
	scs, errs := o.loadScenarios()
	for _, err := range errs {
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errNoScenario) {
			return usageError("%v", err)
		}
	}
	if len(errs) > 0 {
		return nil // a scenario not found here: how it shards is not known
	}
	return o.applyShard(o.shardFlags, scs, time.Now(), os.Getenv)
}

// k8sShard runs the command in a pod, then, when --hold is set, keeps the
// pod (and its emptyDir) until `k8s tar` has collected the results, the
// hold ends, or SIGTERM (kubectl delete). The command's error is returned
// either way, so its exit code is the pod's.
func k8sShard(ctx context.Context, stdout, stderr io.Writer, o k8sOptions) error {
	runErr := commands()[o.command[0]].run(ctx, stdout, stderr, o.command[1:])
	if runErr != nil {
		fmt.Fprintf(stderr, "clusterbench %s: %v\n", o.command[0], runErr)
	}
	if o.spec.Hold > 0 {
		fmt.Fprintf(stderr, "clusterbench k8s shard: results in %s; holding up to %s for 'clusterbench k8s tar' to collect them\n", o.spec.ResultsDir, o.spec.Hold)
		ctx, stop := interruptible(ctx)
		defer stop()
		if collected := holdUntilCollected(ctx, filepath.Join(o.spec.ResultsDir, k8s.MarkerFile), o.spec.Hold); collected {
			fmt.Fprintln(stderr, "clusterbench k8s shard: results collected")
		} else {
			fmt.Fprintln(stderr, "clusterbench k8s shard: hold over before the results were collected")
		}
	}
	if runErr != nil {
		return &exitError{code: exitCode(runErr), err: errSilent}
	}
	return nil
}

// holdUntilCollected waits until marker exists (checked each second), hold
// has passed or ctx is done; it reports whether marker appeared.
func holdUntilCollected(ctx context.Context, marker string, hold time.Duration) bool {
	deadline := time.NewTimer(hold)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if _, err := os.Stat(marker); err == nil {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}

// k8sTar writes dir's files as a tar stream to w (paths relative to dir),
// then creates dir's collection marker, which ends a k8s shard's hold.
func k8sTar(w io.Writer, dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return measurementError(fmt.Errorf("k8s tar: %w", err))
	}
	if !st.IsDir() {
		return usageError("k8s tar: %s is not a directory (allowed: the results directory, --dir)", dir)
	}
	tw := tar.NewWriter(w)
	root := os.DirFS(dir)
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." || p == k8s.MarkerFile {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = p
		if info.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return measurementError(fmt.Errorf("k8s tar %s: %w", dir, err))
	}
	if err := os.WriteFile(filepath.Join(dir, k8s.MarkerFile), nil, 0o644); err != nil {
		return measurementError(fmt.Errorf("k8s tar: the results were written, but the marker that ends the hold was not: %w", err))
	}
	return nil
}
