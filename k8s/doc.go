// Package k8s holds the Kubernetes manifests that users copy (kustomize
// bases for plain Kubernetes, an Istio sidecar, an Istio gateway, and
// monitoring: Prometheus alert rules and a Grafana dashboard) and the
// tests that load every one of them strictly into its typed object and
// check that they agree with semproc's addresses and with the tested Envoy
// configs of package envoy. It has no code of its own.
package k8s
