package k8s

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

var startAt = time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)

func testSpec() Spec {
	return Spec{
		Name: "bench-hello", Namespace: "perf", Image: "registry.example/clusterbench:v1", Shards: 4,
		Args:    []string{"load", "http://hello.perf.svc:8080/", "-r", "4000", "-d", "30s"},
		StartAt: startAt, CPU: "1500m", Memory: "256Mi",
	}
}

// decode reads a manifest back into a Job, refusing any field the API
// types do not have.
func decode(t *testing.T, b []byte) *batchv1.Job {
	t.Helper()
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(b, &job); err != nil {
		t.Fatalf("the manifest does not decode strictly as a batch/v1 Job: %v\n%s", err, b)
	}
	return &job
}

func TestManifestDecodesStrictly(t *testing.T) {
	b, err := Manifest(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	job := decode(t, b)
	spec := job.Spec
	switch {
	case job.APIVersion != "batch/v1" || job.Kind != "Job":
		t.Errorf("apiVersion %q kind %q, want batch/v1 Job", job.APIVersion, job.Kind)
	case job.Name != "bench-hello" || job.Namespace != "perf":
		t.Errorf("name %q namespace %q", job.Name, job.Namespace)
	case spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion:
		t.Errorf("completionMode %v, want Indexed", spec.CompletionMode)
	case spec.Parallelism == nil || *spec.Parallelism != 4 || spec.Completions == nil || *spec.Completions != 4:
		t.Errorf("parallelism %v completions %v, want 4 and 4", spec.Parallelism, spec.Completions)
	case spec.BackoffLimit == nil || *spec.BackoffLimit != 0:
		t.Errorf("backoffLimit %v, want 0 (a retried shard would start late)", spec.BackoffLimit)
	case spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever:
		t.Errorf("restartPolicy %q, want Never", spec.Template.Spec.RestartPolicy)
	case len(spec.Template.Spec.Containers) != 1:
		t.Fatalf("%d containers, want 1", len(spec.Template.Spec.Containers))
	}
	c := spec.Template.Spec.Containers[0]
	if c.Image != "registry.example/clusterbench:v1" || !slices.Equal(c.Command, []string{DefaultBinary}) {
		t.Errorf("image %q command %q", c.Image, c.Command)
	}
	wantArgs := []string{"k8s", "shard", "--dir", "/results", "--hold", "30m0s", "--",
		"load", "http://hello.perf.svc:8080/", "-r", "4000", "-d", "30s", "--allow-remote",
		"--shard", "auto/4", "--start-at", "2026-11-30T20:00:00Z", "--out", "/results"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args\n%q\nwant\n%q", c.Args, wantArgs)
	}
	for _, rl := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		if cpu, mem := rl[corev1.ResourceCPU], rl[corev1.ResourceMemory]; cpu.Cmp(resource.MustParse("1.5")) != 0 || mem.Cmp(resource.MustParse("256Mi")) != 0 {
			t.Errorf("resources %v, want cpu 1500m memory 256Mi", rl)
		}
	}
	vols := spec.Template.Spec.Volumes
	if len(vols) != 1 || vols[0].EmptyDir == nil || vols[0].Name != VolumeName {
		t.Errorf("volumes %+v, want one emptyDir %q", vols, VolumeName)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != VolumeName || c.VolumeMounts[0].MountPath != "/results" {
		t.Errorf("volume mounts %+v", c.VolumeMounts)
	}
	if sc := spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod security context %+v, want runAsNonRoot", sc)
	}
}

func TestManifestPVC(t *testing.T) {
	s := testSpec()
	s.PVC, s.CPU, s.Memory = "bench-results", "", ""
	job := decode(t, must(Manifest(s)))
	vols := job.Spec.Template.Spec.Volumes
	if len(vols) != 1 || vols[0].PersistentVolumeClaim == nil || vols[0].PersistentVolumeClaim.ClaimName != "bench-results" {
		t.Errorf("volumes %+v, want the claim bench-results", vols)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if i := slices.Index(c.Args, "--hold"); i < 0 || c.Args[i+1] != "0s" {
		t.Errorf("args %q: a PVC needs no hold (want --hold 0s)", c.Args)
	}
	if len(c.Resources.Requests) != 0 || len(c.Resources.Limits) != 0 {
		t.Errorf("resources %+v, want none when --cpu and --memory are not given", c.Resources)
	}
}

// TestShardArgsAllowRemoteOnce: the Job's pods load a cluster service, so
// their command line allows a remote target, once even when the user's
// arguments already say so.
func TestShardArgsAllowRemoteOnce(t *testing.T) {
	s := testSpec()
	s.Args = append(s.Args, "--allow-remote")
	args := s.ShardArgs()
	n := 0
	for _, a := range args {
		if a == "--allow-remote" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("args %q: --allow-remote %d times, want once", args, n)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestSpecCheck(t *testing.T) {
	for _, tc := range []struct {
		change func(*Spec)
		err    string
	}{
		{func(s *Spec) { s.Image = "" }, "image: empty"},
		{func(s *Spec) { s.Shards = 0 }, "shards: 0 is out of range (allowed: 1..1000)"},
		{func(s *Spec) { s.Name = "Bench_1" }, `name "Bench_1" is not a Job name`},
		{func(s *Spec) { s.Args = []string{"serve"} }, "not a clusterbench run or load command line"},
		{func(s *Spec) { s.Args = append(s.Args, "--shard", "0/2") }, "--shard is set by the Job"},
		{func(s *Spec) { s.Args = append(s.Args, "--out=/x") }, "--out is set by the Job"},
		{func(s *Spec) { s.Args = append(s.Args, "-o/x") }, "is set by the Job"},
		{func(s *Spec) { s.CPU = "lots" }, `cpu: "lots" is not a quantity`},
		{func(s *Spec) { s.Memory = "1 GB" }, `memory: "1 GB" is not a quantity`},
		{func(s *Spec) { s.PVC = "My Claim" }, `pvc "My Claim" is not a claim name`},
		{func(s *Spec) { s.StartAt = time.Time{} }, "start time: not set"},
	} {
		s := testSpec()
		tc.change(&s)
		_, err := Manifest(s)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Manifest: %v, want an error containing %q", err, tc.err)
		}
	}
}

// TestKubectlAcceptsManifest: kubectl reads the manifest as a Job and
// would create it. `kubectl apply --dry-run=client` still asks a server
// which resource a kind is (discovery) and whether the object exists; a
// stand-in API server answers those two questions (batch/v1 has jobs; no
// such Job yet) and fails the test on any other request, so the check is
// kubectl's own parsing of the manifest.
func TestKubectlAcceptsManifest(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the manifest is only checked by decoding it strictly")
	}
	var mu sync.Mutex
	var unexpected []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api":
			fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case "/api/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[]}`)
		case "/apis":
			fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"batch","versions":[{"groupVersion":"batch/v1","version":"v1"}],"preferredVersion":{"groupVersion":"batch/v1","version":"v1"}}]}`)
		case "/apis/batch/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"batch/v1","resources":[{"name":"jobs","singularName":"job","namespaced":true,"kind":"Job","verbs":["create","get","list","patch","update","delete"]}]}`)
		case "/apis/batch/v1/namespaces/perf/jobs/bench-hello":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		default:
			mu.Lock()
			unexpected = append(unexpected, r.Method+" "+r.URL.String())
			mu.Unlock()
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, "apply", "--dry-run=client", "--validate=false", "--server", srv.URL, "-f", "-")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "none"), "HOME="+dir)
	cmd.Stdin = bytes.NewReader(must(Manifest(testSpec())))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=client: %v\n%s", err, out)
	}
	if want := "job.batch/bench-hello created (dry run)"; !strings.Contains(string(out), want) {
		t.Errorf("kubectl said %q, want %q", out, want)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range unexpected {
		t.Logf("kubectl also asked %s (answered 404)", u)
	}
}
