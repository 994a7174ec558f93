// Package k8s builds the Kubernetes Indexed Job that runs a load split
// across N generator pods (batch/v1 Job, completionMode: Indexed,
// parallelism = completions = N): pod i runs `clusterbench k8s shard --
// run|load ... --allow-remote --shard auto/N --start-at T`, reading its
// index from JOB_COMPLETION_INDEX, and every pod starts its warm-up at the
// same instant T. Each pod writes a normal run directory to a volume: an
// emptyDir that the pod keeps for collection (the container holds after
// the run until `clusterbench k8s tar` has copied it out, or --hold ends),
// or a PersistentVolumeClaim shared by all pods. `clusterbench merge`
// turns the collected directories into one run.
//
// The manifest is built from the Kubernetes API types (k8s.io/api) and
// written as YAML with sigs.k8s.io/yaml, so it has exactly the fields
// those types define. Everything here is pure: no cluster is contacted.
package k8s

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/clusterbench/clusterbench/bench/shard"
)

// Defaults of a Job.
const (
	DefaultName       = "clusterbench"
	DefaultResultsDir = "/results"
	DefaultBinary     = "/clusterbench" // where bench/k8s/Containerfile puts the binary
	DefaultHold       = 30 * time.Minute
	ContainerName     = "shard"
	VolumeName        = "results"
	// MarkerFile, created in the results directory by `clusterbench k8s
	// tar`, ends a pod's hold: its results have been collected.
	MarkerFile = ".collected"
)

// NonRootID is the user and group the image runs as (distroless's
// nonroot user; bench/k8s/Containerfile sets it).
const NonRootID = 65532

// MaxShards bounds the Job's parallelism: the shard count --shard
// accepts, so that every pod's --shard auto/N parses.
const MaxShards = shard.MaxCount

// Spec is what a Job needs. The zero value of an optional field takes
// the default named beside it.
type Spec struct {
	Name      string // metadata.name and the pods' job-name label; DefaultName
	Namespace string // "" = the namespace of kubectl's context
	Image     string // required: an image with the clusterbench binary at Binary
	Binary    string // DefaultBinary
	Shards    int    // 1..MaxShards
	// Args is the clusterbench command line after the binary's name:
	// `run SCENARIO ...` or `load URL ...`, without --shard, --start-at or
	// --out, which the Job sets. The Job adds --allow-remote: its pods load
	// a service of the cluster, never their own loopback.
	Args    []string
	StartAt time.Time // every shard's --start-at
	// CPU and Memory are each pod's requests and limits (quantities such
	// as "1", "500m", "512Mi"); "" leaves them unset.
	CPU, Memory string
	// PVC names a PersistentVolumeClaim mounted at ResultsDir in every pod
	// (it must allow all of them: ReadWriteMany, or one node); "" mounts
	// an emptyDir, kept by a hold until collected.
	PVC        string
	ResultsDir string        // DefaultResultsDir
	Hold       time.Duration // emptyDir: the longest a pod waits for collection; DefaultHold
}

// flags the Job sets itself on the clusterbench command line.
var reserved = []string{"--shard", "--start-at", "--out", "-o"}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Check validates s; errors name the field and what is allowed.
func (s *Spec) Check() error {
	switch {
	case s.Image == "":
		return fmt.Errorf("image: empty (allowed: an image holding the clusterbench binary at %s, built from bench/k8s/Containerfile)", s.binary())
	case s.Shards < 1 || s.Shards > MaxShards:
		return fmt.Errorf("shards: %d is out of range (allowed: 1..%d)", s.Shards, MaxShards)
	case s.name() != "" && (!dnsLabel.MatchString(s.name()) || len(s.name()) > 52):
		// a Job's name goes into its pods' labels and names, with a suffix
		return fmt.Errorf("name %q is not a Job name (allowed: lowercase letters, digits and '-', at most 52 characters)", s.name())
	case s.Namespace != "" && !dnsLabel.MatchString(s.Namespace):
		return fmt.Errorf("namespace %q is not a namespace name (allowed: lowercase letters, digits and '-')", s.Namespace)
	case len(s.Args) == 0 || (s.Args[0] != "run" && s.Args[0] != "load"):
		return fmt.Errorf("command %q: not a clusterbench run or load command line (allowed: run SCENARIO ... or load URL ...)", strings.Join(s.Args, " "))
	case s.StartAt.IsZero():
		return fmt.Errorf("start time: not set (allowed: the instant every shard starts)")
	case s.Hold < 0:
		return fmt.Errorf("hold: %s is out of range (allowed: ≥ 0)", s.Hold)
	}
	for _, a := range s.Args[1:] {
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains(reserved, name) || (strings.HasPrefix(a, "-o") && !strings.HasPrefix(a, "--")) {
			return fmt.Errorf("command: %s is set by the Job (it sets --shard auto/N, --start-at and --out %s)", name, s.resultsDir())
		}
	}
	for _, q := range []struct{ field, v string }{{"cpu", s.CPU}, {"memory", s.Memory}} {
		if q.v == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q.v); err != nil {
			return fmt.Errorf("%s: %q is not a quantity (allowed: e.g. 2, 500m for cpu; 512Mi, 2Gi for memory): %w", q.field, q.v, err)
		}
	}
	if s.PVC != "" && !dnsSubdomain.MatchString(s.PVC) {
		return fmt.Errorf("pvc %q is not a claim name (allowed: lowercase letters, digits, '-' and '.')", s.PVC)
	}
	return nil
}

var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

func (s *Spec) name() string       { return cmp.Or(s.Name, DefaultName) }
func (s *Spec) binary() string     { return cmp.Or(s.Binary, DefaultBinary) }
func (s *Spec) resultsDir() string { return cmp.Or(s.ResultsDir, DefaultResultsDir) }

// ShardArgs is the clusterbench command line a pod runs after the
// binary: `k8s shard --dir D [--hold H] -- ARGS --allow-remote --shard
// auto/N --start-at T --out D` (--allow-remote once: not again when ARGS
// have it).
func (s *Spec) ShardArgs() []string {
	args := []string{"k8s", "shard", "--dir", s.resultsDir()}
	if s.PVC == "" {
		args = append(args, "--hold", cmp.Or(s.Hold, DefaultHold).String())
	} else {
		args = append(args, "--hold", "0s")
	}
	args = append(args, "--")
	args = append(args, s.Args...)
	if !slices.Contains(s.Args[1:], "--allow-remote") {
		args = append(args, "--allow-remote")
	}
	return append(args, "--shard", "auto/"+strconv.Itoa(s.Shards),
		"--start-at", s.StartAt.UTC().Format(time.RFC3339Nano), "--out", s.resultsDir())
}

// Job builds the Indexed Job for s.
func Job(s Spec) (*batchv1.Job, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	n := int32(s.Shards)
	var res corev1.ResourceRequirements
	for _, q := range []struct {
		name corev1.ResourceName
		v    string
	}{{corev1.ResourceCPU, s.CPU}, {corev1.ResourceMemory, s.Memory}} {
		if q.v == "" {
			continue
		}
		if res.Requests == nil {
			res.Requests, res.Limits = corev1.ResourceList{}, corev1.ResourceList{}
		}
		qty := resource.MustParse(q.v) // checked by Check
		res.Requests[q.name], res.Limits[q.name] = qty, qty.DeepCopy()
	}
	vol := corev1.Volume{Name: VolumeName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	if s.PVC != "" {
		vol.VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: s.PVC}}
	}
	labels := map[string]string{"app.kubernetes.io/name": "clusterbench", "app.kubernetes.io/component": "load-generator"}
	indexed := batchv1.IndexedCompletion
	zero := int32(0)
	nonRoot := true
	group := int64(NonRootID)
	noEscalation := false
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: s.name(), Namespace: s.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode: &indexed,
			Completions:    &n,
			Parallelism:    &n,
			// A shard retried after the start time would measure alone:
			// a failed shard is not retried, and merge reports it missing.
			BackoffLimit: &zero,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: &nonRoot,
						// a PVC's files become writable by the image's user
						FSGroup: &group,
					},
					Containers: []corev1.Container{{
						Name:         ContainerName,
						Image:        s.Image,
						Command:      []string{s.binary()},
						Args:         s.ShardArgs(),
						Resources:    res,
						VolumeMounts: []corev1.VolumeMount{{Name: VolumeName, MountPath: s.resultsDir()}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: &noEscalation,
						},
					}},
					Volumes: []corev1.Volume{vol},
				},
			},
		},
	}
	return job, nil
}

// Manifest is Job(s) as YAML, ready for `kubectl apply -f -`.
func Manifest(s Spec) ([]byte, error) {
	job, err := Job(s)
	if err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("k8s: write the Job: %w", err)
	}
	return b, nil
}
