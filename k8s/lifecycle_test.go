package k8s

import (
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// sidecars are the containers the application depends on, in the order
// they must start: Envoy dials semproc, the application dials Envoy.
var sidecars = []string{"semproc", "envoy"}

// checkNativeSidecars wants semproc and Envoy to be native sidecars (init
// containers with restartPolicy Always and a startup probe), so the
// kubelet starts what follows only once they are up and stops them after
// it, semproc before Envoy.
func checkNativeSidecars(pod *corev1.PodTemplateSpec) error {
	var errs []error
	last := -1
	for _, name := range sidecars {
		if slices.ContainsFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == name }) {
			errs = append(errs, fmt.Errorf("%s is a regular container: make it a native sidecar (initContainers, restartPolicy: Always) so what depends on it starts after it", name))
			continue
		}
		i := slices.IndexFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == name })
		if i < 0 {
			continue
		}
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			errs = append(errs, fmt.Errorf("init container %s: want restartPolicy Always (a native sidecar), else the pod waits for it to exit", name))
		}
		if c.StartupProbe == nil {
			errs = append(errs, fmt.Errorf("native sidecar %s has no startupProbe: the next containers would start before it is ready", name))
		}
		if i < last {
			errs = append(errs, fmt.Errorf("native sidecar %s starts before %s, which it depends on", name, sidecars[0]))
		}
		last = i
	}
	return errors.Join(errs...)
}

// checkDrain wants Envoy to drain before SIGTERM (a preStop sleep: the pod
// leaves the Service's endpoints while Envoy finishes the streams in
// flight) and the grace period to cover the sidecars' stops, one after the
// other: Envoy's drain, then semproc's drain delay and shutdown timeout.
func checkDrain(b *bundle, pod *corev1.PodTemplateSpec) error {
	var need time.Duration
	var errs []error
	if c := containerNamed(pod, "envoy"); c != nil {
		var hook *corev1.LifecycleHandler
		if c.Lifecycle != nil {
			hook = c.Lifecycle.PreStop
		}
		if hook == nil || hook.Sleep == nil || hook.Sleep.Seconds <= 0 {
			errs = append(errs, errors.New("envoy: no preStop sleep: a terminating pod would cut the streams in flight"))
		} else {
			need += time.Duration(hook.Sleep.Seconds) * time.Second
		}
	}
	if c := containerNamed(pod, "semproc"); c != nil {
		env, _ := semprocEnv(b, c) // checkSemproc reports its errors
		known, err := semprocVariables()
		if err != nil {
			return err
		}
		for _, name := range []string{"SEMPROC_DRAIN_DELAY", "SEMPROC_SHUTDOWN_TIMEOUT"} {
			v, set := env[name]
			if !set {
				v = known[name]
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s = %q: %w", name, v, err))
			}
			need += d
		}
	}
	grace := 30 * time.Second // Kubernetes' default
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if grace <= need {
		errs = append(errs, fmt.Errorf("terminationGracePeriodSeconds %v, want more than the sidecars' drains (%v)", grace, need))
	}
	return errors.Join(errs...)
}

// checkNetworkPolicies wants every port Envoy serves to be reachable only
// from selected peers: a NetworkPolicy selects its pod for Ingress, and no
// rule admitting the port admits every pod of the cluster.
func checkNetworkPolicies(b *bundle) error {
	var errs []error
	for name, pod := range b.pods() {
		c := containerNamed(pod, "envoy")
		if c == nil {
			continue
		}
		for _, p := range c.Ports {
			if err := checkIngress(b, pod, c, p); err != nil {
				errs = append(errs, fmt.Errorf("%s/envoy port %s: %w", name, p.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func checkIngress(b *bundle, pod *corev1.PodTemplateSpec, c *corev1.Container, port corev1.ContainerPort) error {
	selected := false
	for _, np := range b.networkPolicies {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			return fmt.Errorf("NetworkPolicy %s: %w", np.Name, err)
		}
		if !sel.Matches(labels.Set(pod.Labels)) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			continue
		}
		selected = true
		for i, r := range np.Spec.Ingress {
			if admitsPort(c, r.Ports, port) && admitsAll(r.From) {
				return fmt.Errorf("NetworkPolicy %s ingress rule %d admits every pod of the cluster", np.Name, i)
			}
		}
	}
	if !selected {
		return errors.New("no NetworkPolicy limits its ingress: every pod of the cluster can reach it")
	}
	return nil
}

// admitsPort reports whether a rule's ports (none: all) take port.
func admitsPort(c *corev1.Container, ports []networkingv1.NetworkPolicyPort, port corev1.ContainerPort) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Port == nil || containerPort(c, *p.Port) == port.ContainerPort {
			return true
		}
	}
	return false
}

// admitsAll reports whether peers admit any pod: no peers, an address
// block, or a peer that selects every namespace and every pod in them.
func admitsAll(peers []networkingv1.NetworkPolicyPeer) bool {
	if len(peers) == 0 {
		return true
	}
	empty := func(s *metav1.LabelSelector) bool {
		return s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0)
	}
	for _, p := range peers {
		if p.IPBlock != nil || (p.NamespaceSelector != nil && empty(p.NamespaceSelector) && empty(p.PodSelector)) {
			return true
		}
	}
	return false
}
