package k8s

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	ext_procv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/semproc/semproc/envoy"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	istioapi "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// checkEnvoySidecar wants the Envoy container to run exactly the tested
// envoy/envoy-routing.yaml, from a mounted ConfigMap, with its listener's
// port declared.
func checkEnvoySidecar(b *bundle, pod *corev1.PodTemplateSpec, c *corev1.Container) error {
	i := slices.Index(c.Args, "-c")
	if i < 0 || i+1 >= len(c.Args) {
		return fmt.Errorf("args %v have no -c <config>", c.Args)
	}
	file := c.Args[i+1]
	if err := checkMountedFile(b, pod, c, file); err != nil {
		return err
	}
	var cfg string
	for _, v := range pod.Spec.Volumes {
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name && m.MountPath == path.Dir(file) && v.ConfigMap != nil {
				cfg = b.configMaps[v.ConfigMap.Name].Data[path.Base(file)]
			}
		}
	}
	want, err := fs.ReadFile(repo(), "envoy/envoy-routing.yaml")
	if err != nil {
		return err
	}
	if !sameFile(cfg, string(want)) {
		return errors.New("the Envoy ConfigMap differs from envoy/envoy-routing.yaml, the tested config: copy it again")
	}
	var bs bootstrapv3.Bootstrap
	if err := envoy.ParseYAML([]byte(cfg), &bs); err != nil {
		return err
	}
	for _, l := range bs.GetStaticResources().GetListeners() {
		port := int32(l.GetAddress().GetSocketAddress().GetPortValue())
		if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == port }) {
			return fmt.Errorf("listener %q port %d is not a container port", l.GetName(), port)
		}
	}
	return nil
}

// checkServices wants each Service to select a pod and reach its ports.
func checkServices(b *bundle) error {
	var errs []error
	for _, s := range b.services {
		var pod *corev1.PodTemplateSpec
		for _, p := range b.pods() {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Labels)) {
				pod = p
			}
		}
		if pod == nil {
			errs = append(errs, fmt.Errorf("service %s selects no pod", s.Name))
			continue
		}
		for _, sp := range s.Spec.Ports {
			found := false
			for _, c := range containers(pod) {
				found = found || containerPort(c, sp.TargetPort) != 0
			}
			if !found {
				errs = append(errs, fmt.Errorf("service %s port %s: targetPort %s is no container port", s.Name, sp.Name, sp.TargetPort.String()))
			}
		}
	}
	return errors.Join(errs...)
}

// checkRoutes wants the routes ConfigMap to hold the tested envoy/routes.yaml.
func checkRoutes(b *bundle) error {
	cm, ok := b.configMaps["semproc-routes"]
	if !ok {
		return nil
	}
	want, err := fs.ReadFile(repo(), "envoy/routes.yaml")
	if err != nil {
		return err
	}
	if !sameFile(cm.Data["routes.yaml"], string(want)) {
		return errors.New("ConfigMap semproc-routes differs from envoy/routes.yaml: copy it again")
	}
	return nil
}

// checkEnvoyFilters converts each patch's value (a Struct) into the typed
// Envoy proto it stands for, validates it, and checks it against SPEC §1:
// the ext_proc filter, the semproc cluster on loopback over HTTP/2, and the
// buffer limit. The selected workload must run semproc in its pod.
func checkEnvoyFilters(b *bundle, context string) error {
	if len(b.envoyFilters) == 0 {
		return errors.New("no EnvoyFilter")
	}
	var errs []error
	for _, ef := range b.envoyFilters {
		seen := map[istioapi.EnvoyFilter_ApplyTo]bool{}
		for i, p := range ef.Spec.GetConfigPatches() {
			if got := p.GetMatch().GetContext().String(); got != context {
				errs = append(errs, fmt.Errorf("%s patch %d: context %s, want %s", ef.Name, i, got, context))
			}
			seen[p.GetApplyTo()] = true
			if port := p.GetMatch().GetListener().GetPortNumber(); port != 0 && !httpServicePort(b, port) {
				errs = append(errs, fmt.Errorf("%s patch %d: port %d is no Service port named http-*: Istio would match no listener", ef.Name, i, port))
			}
			errs = append(errs, prefix(fmt.Sprintf("%s patch %d", ef.Name, i), checkPatch(p)))
		}
		for _, a := range []istioapi.EnvoyFilter_ApplyTo{istioapi.EnvoyFilter_HTTP_FILTER, istioapi.EnvoyFilter_CLUSTER, istioapi.EnvoyFilter_LISTENER} {
			if !seen[a] {
				errs = append(errs, fmt.Errorf("%s: no %s patch", ef.Name, a))
			}
		}
		sel := ef.Spec.GetWorkloadSelector().GetLabels()
		ok := false
		for _, pod := range b.pods() {
			if len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(pod.Labels)) && containerNamed(pod, "semproc") != nil {
				ok = true
			}
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%s: workloadSelector %v selects no pod with a semproc container (the cluster dials loopback)", ef.Name, sel))
		}
	}
	return errors.Join(errs...)
}

func checkPatch(p *istioapi.EnvoyFilter_EnvoyConfigObjectPatch) error {
	js, err := protojson.Marshal(p.GetPatch().GetValue())
	if err != nil {
		return err
	}
	decode := func(m proto.Message) error {
		if err := protojson.Unmarshal(js, m); err != nil {
			return fmt.Errorf("value as %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
		return nil
	}
	op := p.GetPatch().GetOperation()
	switch p.GetApplyTo() {
	case istioapi.EnvoyFilter_HTTP_FILTER:
		if op != istioapi.EnvoyFilter_Patch_INSERT_BEFORE || p.GetMatch().GetListener().GetFilterChain().GetFilter().GetSubFilter().GetName() != "envoy.filters.http.router" {
			return errors.New("want INSERT_BEFORE the router")
		}
		var f hcmv3.HttpFilter
		if err := decode(&f); err != nil {
			return err
		}
		if err := envoy.Validate(&f); err != nil {
			return err
		}
		var ep ext_procv3.ExternalProcessor
		if f.GetName() != envoy.ExtProcFilterName || f.GetTypedConfig().UnmarshalTo(&ep) != nil {
			return fmt.Errorf("filter %q is not ext_proc", f.GetName())
		}
		return envoy.CheckExtProc(&ep)
	case istioapi.EnvoyFilter_CLUSTER:
		var c clusterv3.Cluster
		if err := decode(&c); err != nil {
			return err
		}
		if op != istioapi.EnvoyFilter_Patch_ADD {
			return fmt.Errorf("operation %s, want ADD", op)
		}
		return errors.Join(envoy.Validate(&c), envoy.CheckSemprocCluster(&c))
	case istioapi.EnvoyFilter_LISTENER:
		// A MERGE value is a partial listener: decode it, do not validate it.
		var l listenerv3.Listener
		if err := decode(&l); err != nil {
			return err
		}
		if got := l.GetPerConnectionBufferLimitBytes().GetValue(); got < envoy.MinBufferLimit {
			return fmt.Errorf("per_connection_buffer_limit_bytes = %s, want >= %d", strconv.Itoa(int(got)), envoy.MinBufferLimit)
		}
		return nil
	}
	return fmt.Errorf("unexpected applyTo %s", p.GetApplyTo())
}

// httpServicePort reports whether a Service of the bundle has port, named
// for HTTP: Istio matches SIDECAR_INBOUND listeners by Service port, and
// runs HTTP filters only on ports it knows carry HTTP.
func httpServicePort(b *bundle, port uint32) bool {
	for _, s := range b.services {
		for _, p := range s.Spec.Ports {
			if uint32(p.Port) == port && (p.Name == "http" || strings.HasPrefix(p.Name, "http-")) {
				return true
			}
		}
	}
	return false
}
