package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"

	"github.com/clusterbench/clusterbench/bench/k8s"
	"github.com/clusterbench/clusterbench/bench/report"
)

func TestK8sJob(t *testing.T) {
	before := time.Now()
	stdout, stderr, code := mainIn(t, "k8s", "job", "--shards", "4", "--image", "reg.example/cb:v1", "--cpu", "2", "--memory", "512Mi",
		"--start-in", "90s", "--", "load", "http://hello.perf.svc:8080/", "-r", "4000", "-d", "30s")
	after := time.Now()
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(stdout), &job); err != nil {
		t.Fatalf("not a batch/v1 Job: %v\n%s", err, stdout)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if *job.Spec.Parallelism != 4 || *job.Spec.Completions != 4 || *job.Spec.CompletionMode != batchv1.IndexedCompletion || c.Image != "reg.example/cb:v1" {
		t.Errorf("job spec %+v, image %q", job.Spec, c.Image)
	}
	if cpu := c.Resources.Limits.Cpu(); cpu.String() != "2" {
		t.Errorf("cpu limit %v, want 2", cpu)
	}
	if !slices.Contains(c.Args, "--allow-remote") {
		t.Errorf("args %q lack --allow-remote: the pods load a service of the cluster", c.Args)
	}
	i := slices.Index(c.Args, "--start-at")
	if i < 0 || !slices.Contains(c.Args, "auto/4") {
		t.Fatalf("args %q lack --shard auto/4 and --start-at", c.Args)
	}
	at, err := time.Parse(time.RFC3339, c.Args[i+1])
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := before.Add(90*time.Second).Add(-time.Second), after.Add(90*time.Second); at.Before(lo) || at.After(hi) {
		t.Errorf("--start-at %v, want now + 90s (%v..%v)", at, lo, hi)
	}
}

func TestK8sBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"job", "--shards", "4", "--", "load", "http://h/"}, "--image is required"},
		{[]string{"job", "--image", "x", "--", "load", "http://h/"}, "--shards is required"},
		{[]string{"job", "--shards", "0", "--image", "x", "--", "load", "http://h/"}, "shards: 0 is out of range (allowed: 1..1000)"},
		{[]string{"job", "--shards", "4", "--image", "x", "--", "load", "http://h/", "-r", "3"}, "level 3 split 4 ways leaves shard 3 with 0"},
		{[]string{"job", "--shards", "4", "--image", "x", "--", "load", "http://h/", "--shard", "1/4"}, "--shard is set by the Job"},
		{[]string{"job", "--shards", "4", "--image", "x", "--", "serve"}, "no run or load command after --"},
		{[]string{"job", "--shards", "4", "--image", "x", "--cpu", "lots", "--", "load", "http://h/"}, `cpu: "lots" is not a quantity`},
		{[]string{"job", "--shards", "2", "--image", "x", "--", "run", "hello"}, "scenario hello starts server single itself"},
		{[]string{"job", "--shards", "2", "--image", "x", "--", "load", "http://h/", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"job", "--shards", "2", "--image", "x", "--hold", "0", "--", "load", "http://h/"}, "--hold 0 with an emptyDir"},
		{[]string{"deploy"}, `k8s takes one of job, shard, tar, got ["deploy"]`},
	} {
		_, stderr, code := mainIn(t, append([]string{"k8s"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("k8s %q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestK8sShardHoldsUntilCollected: in a pod, `k8s shard` runs the load,
// then holds until `k8s tar` has written the results out, then exits 0.
func TestK8sShardHoldsUntilCollected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") }))
	t.Cleanup(srv.Close) // after Main has ended (cleanups run last first)
	dir := t.TempDir()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stdout bytes.Buffer
	// Should the test stop early, end the hold and wait for Main, so that
	// it neither outlives the test nor writes into a removed directory.
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	t.Cleanup(func() { cancel(); <-exited })
	go func() {
		defer close(exited)
		defer pw.Close()
		done <- Main(ctx, &stdout, pw, []string{"k8s", "shard", "--dir", dir, "--hold", "1m", "--",
			"load", srv.URL, "-c", "1", "-d", "200ms", "--warmup", "0", "--shard", "0/1", "--run-id", "x", "--out", dir, "-q"})
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() { // the hold begins once the run is written
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "holding up to 1m0s") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var archive bytes.Buffer
	if code := Main(context.Background(), &archive, io.Discard, []string{"k8s", "tar", "--dir", dir}); code != ExitOK {
		t.Fatalf("k8s tar: exit %d", code)
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("k8s shard: exit %d\n%s", code, strings.Join(lines, "\n"))
		}
	case <-time.After(30 * time.Second): // the hold polls each second; 1m if the marker went unseen
		t.Fatalf("k8s shard still holding after k8s tar; stderr:\n%s", strings.Join(lines, "\n"))
	}
	runDir := strings.TrimSpace(stdout.String())
	var names []string
	tr := tar.NewReader(&archive)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	for _, want := range []string{filepath.Base(runDir) + "/", filepath.Base(runDir) + "/summary.json", filepath.Base(runDir) + "/histograms.hlog"} {
		if !slices.Contains(names, want) {
			t.Errorf("the tar holds %q, lacks %q", names, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, k8s.MarkerFile)); err != nil {
		t.Errorf("no collection marker: %v", err)
	}
	if _, err := report.ReadRun(runDir); err != nil {
		t.Errorf("the shard's run: %v", err)
	}
}

// TestK8sJobProbesScenarios: a scenario file here that does not load
// would fail in every pod, so `k8s job` refuses it; a scenario not found
// here may be in the image, so it passes unchecked.
func TestK8sJobProbesScenarios(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := []string{"k8s", "job", "--shards", "2", "--image", "x", "--", "run"}
	_, stderr, code := mainIn(t, append(job, bad)...)
	if code != ExitUsage || !strings.Contains(stderr, "job: the command after --: ") || !strings.Contains(stderr, bad) {
		t.Errorf("k8s job -- run %s: exit %d, stderr %q; want 2 naming the file", bad, code, stderr)
	}
	for _, missing := range []string{filepath.Join(t.TempDir(), "in-the-image.yaml"), "only-in-the-image"} {
		stdout, stderr, code := mainIn(t, append(job, missing)...)
		if code != ExitOK || !strings.Contains(stdout, "kind: Job") {
			t.Errorf("k8s job -- run %s: exit %d, stderr %q; want 0 and a Job", missing, code, stderr)
		}
	}
}
