package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	istionetv1 "istio.io/client-go/pkg/apis/networking/v1"
	istionetv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization that the shipped
// files use; decoding is strict.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Patches   []struct {
		Target struct{ Kind, Name string } `json:"target"`
		Patch  string                      `json:"patch"`
	} `json:"patches"`
	Images []struct {
		Name    string `json:"name"`
		NewTag  string `json:"newTag"`
		NewName string `json:"newName"`
	} `json:"images"`
	ConfigMapGenerator []struct {
		Name    string   `json:"name"`
		Files   []string `json:"files"`
		Options struct {
			DisableNameSuffixHash bool              `json:"disableNameSuffixHash"`
			Labels                map[string]string `json:"labels"`
		} `json:"options"`
	} `json:"configMapGenerator"`
}

// prometheusRule is the Prometheus Operator's PrometheusRule, as much of it
// as alerting rules use; decoding is strict, so a misspelt field fails.
type prometheusRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval,omitempty"`
			Rules    []struct {
				Alert       string            `json:"alert,omitempty"`
				Record      string            `json:"record,omitempty"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels,omitempty"`
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// bundle is every object a kustomization (and the ones it includes) holds.
type bundle struct {
	files           []string
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	networkPolicies []*networkingv1.NetworkPolicy
	services        []*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	namespaces      []*corev1.Namespace
	envoyFilters    []*istionetv1alpha3.EnvoyFilter
	gateways        []*istionetv1.Gateway
	virtualServices []*istionetv1.VirtualService
	serviceEntries  []*istionetv1.ServiceEntry
	destRules       []*istionetv1.DestinationRule
	prometheusRules []*prometheusRule
	images          map[string]string // image name -> kustomize newTag
}

// loadKustomization reads the kustomization in dir of fsys and every
// resource it lists, recursively, decoding each object strictly.
func loadKustomization(fsys fs.FS, dir string) (*bundle, error) {
	b := &bundle{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, images: map[string]string{}}
	return b, b.addKustomization(fsys, dir)
}

func (b *bundle) addKustomization(fsys fs.FS, dir string) error {
	name := path.Join(dir, "kustomization.yaml")
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	b.files = append(b.files, name)
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return fmt.Errorf("%s: apiVersion/kind = %s/%s", name, k.APIVersion, k.Kind)
	}
	for _, img := range k.Images {
		b.images[img.Name] = img.NewTag
	}
	for _, r := range k.Resources {
		p := path.Join(dir, r)
		st, err := fs.Stat(fsys, p)
		if err != nil {
			return fmt.Errorf("%s: resource %w", name, err)
		}
		if st.IsDir() {
			err = b.addKustomization(fsys, p)
		} else {
			err = b.addFile(fsys, p)
		}
		if err != nil {
			return err
		}
	}
	for _, g := range k.ConfigMapGenerator {
		if err := b.generateConfigMap(fsys, dir, g.Name, g.Files, g.Options.DisableNameSuffixHash, g.Options.Labels); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, p := range k.Patches {
		if err := b.applyPatch(p.Target.Kind, p.Target.Name, p.Patch); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// generateConfigMap makes the ConfigMap a configMapGenerator makes: one
// key per file, named after it. The name must stay as written (no hash
// suffix), so what Kubernetes holds is what the checks and users name.
func (b *bundle) generateConfigMap(fsys fs.FS, dir, name string, files []string, noHash bool, labels map[string]string) error {
	if !noHash {
		return fmt.Errorf("configMapGenerator %s: want options.disableNameSuffixHash: true", name)
	}
	cm := &corev1.ConfigMap{Data: map[string]string{}}
	cm.Name, cm.Labels = name, labels
	for _, f := range files {
		data, err := fs.ReadFile(fsys, path.Join(dir, f))
		if err != nil {
			return fmt.Errorf("configMapGenerator %s: %w", name, err)
		}
		b.files = append(b.files, path.Join(dir, f))
		cm.Data[path.Base(f)] = string(data)
	}
	b.configMaps[name] = cm
	return nil
}

// applyPatch applies the one kind of JSON patch the shipped kustomizations
// use, removing a ConfigMap key, as kustomize would; anything else is an
// error rather than a patch silently left out of the checks.
func (b *bundle) applyPatch(kind, name, patch string) error {
	var ops []struct{ Op, Path string }
	if err := yaml.UnmarshalStrict([]byte(patch), &ops); err != nil {
		return fmt.Errorf("patch: %w", err)
	}
	cm, ok := b.configMaps[name]
	if kind != "ConfigMap" || !ok {
		return fmt.Errorf("patch target %s %s: only ConfigMaps of the kustomization are supported", kind, name)
	}
	for _, op := range ops {
		key, isData := strings.CutPrefix(op.Path, "/data/")
		if _, exists := cm.Data[key]; op.Op != "remove" || !isData || !exists {
			return fmt.Errorf("patch %s %s: want a remove of an existing /data/ key", op.Op, op.Path)
		}
		delete(cm.Data, key)
	}
	return nil
}

func (b *bundle) addFile(fsys fs.FS, name string) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	b.files = append(b.files, name)
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		if err := b.addObject(doc); err != nil {
			return fmt.Errorf("%s, document %d: %w", name, i+1, err)
		}
	}
	return nil
}

// addObject decodes one manifest into its typed object. Unknown fields are
// errors everywhere: in Kubernetes objects through strict JSON decoding, and
// in Istio specs through protojson, since their own UnmarshalJSON allows
// unknown fields.
func (b *bundle) addObject(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	strict := func(obj any) error { return yaml.UnmarshalStrict(doc, obj) }
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		var o appsv1.Deployment
		b.deployments = append(b.deployments, &o)
		return strict(&o)
	case "apps/v1 StatefulSet":
		var o appsv1.StatefulSet
		b.statefulSets = append(b.statefulSets, &o)
		return strict(&o)
	case "networking.k8s.io/v1 NetworkPolicy":
		var o networkingv1.NetworkPolicy
		b.networkPolicies = append(b.networkPolicies, &o)
		return strict(&o)
	case "v1 Service":
		var o corev1.Service
		b.services = append(b.services, &o)
		return strict(&o)
	case "v1 ConfigMap":
		var o corev1.ConfigMap
		err := strict(&o)
		b.configMaps[o.Name] = &o
		return err
	case "v1 Secret":
		var o corev1.Secret
		err := strict(&o)
		b.secrets[o.Name] = &o
		return err
	case "v1 Namespace":
		var o corev1.Namespace
		b.namespaces = append(b.namespaces, &o)
		return strict(&o)
	case "monitoring.coreos.com/v1 PrometheusRule":
		var o prometheusRule
		b.prometheusRules = append(b.prometheusRules, &o)
		return strict(&o)
	case "networking.istio.io/v1alpha3 EnvoyFilter":
		var o istionetv1alpha3.EnvoyFilter
		b.envoyFilters = append(b.envoyFilters, &o)
		return decodeIstio(doc, &o, &o.Spec)
	case "networking.istio.io/v1 Gateway":
		var o istionetv1.Gateway
		b.gateways = append(b.gateways, &o)
		return decodeIstio(doc, &o, &o.Spec)
	case "networking.istio.io/v1 VirtualService":
		var o istionetv1.VirtualService
		b.virtualServices = append(b.virtualServices, &o)
		return decodeIstio(doc, &o, &o.Spec)
	case "networking.istio.io/v1 ServiceEntry":
		var o istionetv1.ServiceEntry
		b.serviceEntries = append(b.serviceEntries, &o)
		return decodeIstio(doc, &o, &o.Spec)
	case "networking.istio.io/v1 DestinationRule":
		var o istionetv1.DestinationRule
		b.destRules = append(b.destRules, &o)
		return decodeIstio(doc, &o, &o.Spec)
	}
	return fmt.Errorf("unexpected object %s %s", tm.APIVersion, tm.Kind)
}

// decodeIstio decodes an Istio object: the envelope strictly into obj, then
// its spec again with protojson, which rejects unknown fields.
func decodeIstio(doc []byte, obj any, spec proto.Message) error {
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return err
	}
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	var raw struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return err
	}
	if err := protojson.Unmarshal(raw.Spec, spec); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	return nil
}

// pods are the workloads' pod templates by workload name.
func (b *bundle) pods() map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for _, d := range b.deployments {
		out[d.Name] = &d.Spec.Template
	}
	for _, s := range b.statefulSets {
		out[s.Name] = &s.Spec.Template
	}
	return out
}

// containers are a pod's init containers (native sidecars among them) and
// its containers.
func containers(pod *corev1.PodTemplateSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}

func containerNamed(pod *corev1.PodTemplateSpec, name string) *corev1.Container {
	for _, c := range containers(pod) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// sameFile compares a file embedded in a ConfigMap with its source; YAML
// block scalars keep one final newline whatever the source had.
func sameFile(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }

// objectNames lists the bundle's objects as kind/name.
func (b *bundle) objectNames() []string {
	var out []string
	for _, d := range b.deployments {
		out = append(out, "Deployment/"+d.Name)
	}
	for _, s := range b.statefulSets {
		out = append(out, "StatefulSet/"+s.Name)
	}
	for _, n := range b.networkPolicies {
		out = append(out, "NetworkPolicy/"+n.Name)
	}
	for _, s := range b.services {
		out = append(out, "Service/"+s.Name)
	}
	for n := range b.configMaps {
		out = append(out, "ConfigMap/"+n)
	}
	for n := range b.secrets {
		out = append(out, "Secret/"+n)
	}
	for _, n := range b.namespaces {
		out = append(out, "Namespace/"+n.Name)
	}
	for _, o := range b.envoyFilters {
		out = append(out, "EnvoyFilter/"+o.Name)
	}
	for _, o := range b.gateways {
		out = append(out, "Gateway/"+o.Name)
	}
	for _, o := range b.virtualServices {
		out = append(out, "VirtualService/"+o.Name)
	}
	for _, o := range b.serviceEntries {
		out = append(out, "ServiceEntry/"+o.Name)
	}
	for _, o := range b.destRules {
		out = append(out, "DestinationRule/"+o.Name)
	}
	for _, o := range b.prometheusRules {
		out = append(out, "PrometheusRule/"+o.Metadata.Name)
	}
	return out
}
