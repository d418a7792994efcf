package k8s

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/semproc/semproc/envoy"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// variants are the kustomizations users apply, with the EnvoyFilter
// context each must use ("" for none).
var variants = []struct{ dir, context string }{
	{".", ""},
	{"istio/sidecar", "SIDECAR_INBOUND"},
	{"istio/gateway", "GATEWAY"},
	{"redis", ""},
	{"observability", ""},
}

// repo is the repository root, for the files shared with package envoy.
func repo() fs.FS { return os.DirFS("..") }

func TestManifests(t *testing.T) {
	for _, v := range variants {
		t.Run(v.dir, func(t *testing.T) {
			if err := checkVariant(os.DirFS("."), v.dir, v.context); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestEveryFileIsUsed wants every YAML file here to belong to a variant, so
// none escapes the checks.
func TestEveryFileIsUsed(t *testing.T) {
	used := map[string]bool{}
	for _, v := range variants {
		b, err := loadKustomization(os.DirFS("."), v.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range b.files {
			used[f] = true
		}
	}
	err := fs.WalkDir(os.DirFS("."), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && !used[p] {
			t.Errorf("%s is in no kustomization: it is not checked", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkVariant(fsys fs.FS, dir, context string) error {
	b, err := loadKustomization(fsys, dir)
	if err != nil {
		return err
	}
	var errs []error
	for name, pod := range b.pods() {
		for _, c := range containers(pod) {
			errs = append(errs, prefix(name+"/"+c.Name, errors.Join(
				checkImage(pod, c, b.images), checkSecurity(c), checkResources(c))))
		}
		if c := containerNamed(pod, "semproc"); c != nil {
			errs = append(errs, prefix(name+"/semproc", checkSemproc(b, pod, c)))
		}
		if c := containerNamed(pod, "envoy"); c != nil {
			errs = append(errs, prefix(name+"/envoy", checkEnvoySidecar(b, pod, c)))
		}
		errs = append(errs, prefix(name, errors.Join(checkNativeSidecars(pod), checkDrain(b, pod))))
		if pod.Spec.SecurityContext == nil || !is(pod.Spec.SecurityContext.RunAsNonRoot, true) {
			errs = append(errs, fmt.Errorf("%s: pod securityContext.runAsNonRoot is not true", name))
		}
	}
	errs = append(errs, checkServices(b), checkRoutes(b), checkNetworkPolicies(b))
	if context == "" && len(b.envoyFilters) > 0 {
		errs = append(errs, errors.New("EnvoyFilter outside Istio variants"))
	}
	if context != "" {
		errs = append(errs, checkEnvoyFilters(b, context))
	}
	return errors.Join(errs...)
}

func prefix(p string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", p, err)
}

// is reports whether an optional boolean is set to want.
func is(b *bool, want bool) bool { return b != nil && *b == want }

// checkImage wants an explicit version tag, or kustomize's images entry to
// set one. Istio's injector fills in the gateway proxy's "auto" image.
func checkImage(pod *corev1.PodTemplateSpec, c *corev1.Container, kustomized map[string]string) error {
	if c.Image == "auto" && c.Name == "istio-proxy" && pod.Annotations["inject.istio.io/templates"] == "gateway" {
		return nil
	}
	name, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
	repo := strings.TrimSuffix(c.Image, ":"+tag)
	if newTag, set := kustomized[repo]; set {
		tag, ok = newTag, true
	}
	if !ok || tag == "" || tag == "latest" || name == "" {
		return fmt.Errorf("image %q: want an explicit version tag", c.Image)
	}
	return nil
}

func checkSecurity(c *corev1.Container) error {
	sc := c.SecurityContext
	if sc == nil {
		return errors.New("no securityContext")
	}
	var errs []error
	if !is(sc.RunAsNonRoot, true) {
		errs = append(errs, errors.New("runAsNonRoot is not true"))
	}
	if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		errs = append(errs, errors.New("runAsUser unset or 0: the kubelet cannot verify a named user is non-root"))
	}
	if !is(sc.ReadOnlyRootFilesystem, true) {
		errs = append(errs, errors.New("readOnlyRootFilesystem is not true"))
	}
	if !is(sc.AllowPrivilegeEscalation, false) {
		errs = append(errs, errors.New("allowPrivilegeEscalation is not false"))
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		errs = append(errs, errors.New("capabilities: want drop [ALL] and no add"))
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		errs = append(errs, errors.New("seccompProfile is not RuntimeDefault"))
	}
	return errors.Join(errs...)
}

func checkResources(c *corev1.Container) error {
	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
		return fmt.Errorf("resources %v: want cpu and memory requests and a memory limit", r)
	}
	return nil
}

// semprocEnv is semproc's environment as its envFrom sources give it.
func semprocEnv(b *bundle, c *corev1.Container) (map[string]string, error) {
	env := map[string]string{}
	var errs []error
	var cm, secret bool
	for _, src := range c.EnvFrom {
		switch {
		case src.ConfigMapRef != nil:
			m, ok := b.configMaps[src.ConfigMapRef.Name]
			if !ok {
				errs = append(errs, fmt.Errorf("envFrom: no ConfigMap %q", src.ConfigMapRef.Name))
				continue
			}
			cm = true
			for k, v := range m.Data {
				env[k] = v
			}
		case src.SecretRef != nil:
			if _, ok := b.secrets[src.SecretRef.Name]; !ok {
				errs = append(errs, fmt.Errorf("envFrom: no Secret %q", src.SecretRef.Name))
			}
			secret = true
		}
	}
	if !cm || !secret {
		errs = append(errs, errors.New("want environment from a ConfigMap and a Secret"))
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env, errors.Join(errs...)
}

// checkSemproc wants semproc's addresses, probes and mounts to agree with
// its environment and with the Envoy configs that dial it.
func checkSemproc(b *bundle, pod *corev1.PodTemplateSpec, c *corev1.Container) error {
	env, err := semprocEnv(b, c)
	errs := []error{err}
	known, err := semprocVariables()
	if err != nil {
		return err
	}
	if len(known) == 0 {
		return errors.New("found no SEMPROC_ variables in cmd/semproc")
	}
	for name := range env {
		if _, ok := known[name]; !ok {
			errs = append(errs, fmt.Errorf("%s is not a semproc variable: it would be ignored", name))
		}
	}
	if got := env["SEMPROC_GRPC_ADDR"]; got != envoy.SemprocGRPCAddr {
		errs = append(errs, fmt.Errorf("SEMPROC_GRPC_ADDR = %q, want %q: the Envoy configs dial that", got, envoy.SemprocGRPCAddr))
	}
	host, port, err := net.SplitHostPort(env["SEMPROC_ADMIN_ADDR"])
	if err != nil || (host != "" && net.ParseIP(host).IsLoopback()) {
		errs = append(errs, fmt.Errorf("SEMPROC_ADMIN_ADDR = %q: kubelet probes and scrapes need it beyond loopback (e.g. :9090)", env["SEMPROC_ADMIN_ADDR"]))
	}
	for _, p := range []struct {
		name, path string
		probe      *corev1.Probe
	}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			errs = append(errs, fmt.Errorf("no HTTP %s probe", p.name))
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			errs = append(errs, fmt.Errorf("%s probe path %q, want %q", p.name, p.probe.HTTPGet.Path, p.path))
		}
		if got := containerPort(c, p.probe.HTTPGet.Port); strconv.Itoa(int(got)) != port {
			errs = append(errs, fmt.Errorf("%s probe port %v is %d, SEMPROC_ADMIN_ADDR listens on %s", p.name, p.probe.HTTPGet.Port.String(), got, port))
		}
	}
	if f := env["SEMPROC_ROUTES_FILE"]; f != "" {
		errs = append(errs, checkMountedFile(b, pod, c, f))
	}
	return errors.Join(errs...)
}

// containerPort resolves a probe or Service port (number or name) in c.
func containerPort(c *corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return 0
}

// checkMountedFile wants file to come from a ConfigMap mounted in c.
func checkMountedFile(b *bundle, pod *corev1.PodTemplateSpec, c *corev1.Container, file string) error {
	for _, m := range c.VolumeMounts {
		if m.MountPath != path.Dir(file) {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm, ok := b.configMaps[v.ConfigMap.Name]
			if ok && cm.Data[path.Base(file)] != "" {
				return nil
			}
		}
	}
	return fmt.Errorf("%s is not a key of a ConfigMap mounted at %s", file, path.Dir(file))
}
