package k8s

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"testing/fstest"
)

// TestBrokenManifestsAreRejected breaks one field of a shipped manifest and
// expects the variant's checks to refuse it.
func TestBrokenManifestsAreRejected(t *testing.T) {
	tests := []struct {
		name, variant, file, old, new string
	}{
		{"misspelled field", ".", "deployment.yaml", "readinessProbe:\n          httpGet: {path: /readyz", "readinesProbe:\n          httpGet: {path: /readyz"},
		{"probe on wrong port", ".", "deployment.yaml", "httpGet: {path: /healthz, port: admin}\n          periodSeconds: 10", "httpGet: {path: /healthz, port: 9091}\n          periodSeconds: 10"},
		{"probe on wrong path", ".", "deployment.yaml", "path: /readyz", "path: /healthz"},
		{"admin on loopback", ".", "semproc/config.yaml", `SEMPROC_ADMIN_ADDR: ":9090"`, `SEMPROC_ADMIN_ADDR: "127.0.0.1:9090"`},
		{"misspelled variable", ".", "semproc/config.yaml", "SEMPROC_CACHE_TTL: 1h", "SEMPROC_CACHE_TLL: 1h"},
		{"grpc address differs from Envoy", ".", "semproc/config.yaml", `SEMPROC_GRPC_ADDR: "127.0.0.1:50051"`, `SEMPROC_GRPC_ADDR: ":50051"`},
		{"latest image", ".", "deployment.yaml", "image: envoyproxy/envoy:v1.36.4", "image: envoyproxy/envoy:latest"},
		{"untagged image", ".", "deployment.yaml", "image: curlimages/curl:8.16.0", "image: curlimages/curl"},
		{"privilege escalation", ".", "deployment.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"},
		{"writable root", "istio/gateway", "gateway.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"},
		{"no memory limit", ".", "deployment.yaml", "limits: {memory: 1Gi}", "limits: {}"},
		{"Envoy config drifted", ".", "envoy-config.yaml", "message_timeout: 10s", "message_timeout: 20s"},
		{"routes drifted", ".", "semproc/routes.yaml", "model: gpt-4o-mini", "model: gpt-4.1-mini"},
		{"no secret", ".", "deployment.yaml", "        - secretRef: {name: semproc}\n", ""},
		{"service to unknown port", ".", "service.yaml", "targetPort: admin", "targetPort: metrics"},
		{"missing resource", ".", "kustomization.yaml", "- service.yaml", "- services.yaml"},
		{"istio spec misspelled", "istio/sidecar", "envoyfilter.yaml", "workloadSelector:", "workloadSelecter:"},
		{"ext_proc fails closed", "istio/sidecar", "envoyfilter.yaml", "failure_mode_allow: true", "failure_mode_allow: false"},
		{"ext_proc misspelled field", "istio/sidecar", "envoyfilter.yaml", "allow_mode_override: true", "allow_mode_overide: true"},
		{"semproc cluster port", "istio/gateway", "envoyfilter.yaml", "port_value: 50051", "port_value: 5051"},
		{"semproc cluster HTTP/1.1", "istio/gateway", "envoyfilter.yaml", "http2_protocol_options: {}", "http_protocol_options: {}"},
		{"wrong patch context", "istio/gateway", "envoyfilter.yaml", "context: GATEWAY", "context: SIDECAR_OUTBOUND"},
		{"selector misses semproc's pod", "istio/sidecar", "envoyfilter.yaml", "labels: {app.kubernetes.io/name: llm-server}", "labels: {app: llm-server}"},
		{"filter on a port no Service has", "istio/sidecar", "envoyfilter.yaml", "portNumber: 11434", "portNumber: 8080"},
		{"Service port not named for HTTP", "istio/sidecar", "deployment.yaml", "name: http-llm, port: 11434", "name: llm, port: 11434"},
		{"small buffer", "istio/sidecar", "envoyfilter.yaml", "value:\n        per_connection_buffer_limit_bytes: 16777216", "value:\n        per_connection_buffer_limit_bytes: 1048576"},
		{"unsupported patch", "istio/sidecar", "kustomization.yaml", "op: remove", "op: add"},
		{"semproc not a native sidecar", ".", "deployment.yaml", "        restartPolicy: Always\n        image: ghcr.io", "        image: ghcr.io"},
		{"Envoy sidecar without startup probe", ".", "deployment.yaml", "        startupProbe:\n          tcpSocket: {port: llm}\n          periodSeconds: 1\n          failureThreshold: 30\n", ""},
		{"gateway semproc an ordinary init container", "istio/gateway", "gateway.yaml", "        restartPolicy: Always\n", ""},
		{"Envoy without preStop drain", ".", "deployment.yaml", "          preStop:\n            sleep: {seconds: 15}\n", ""},
		{"grace shorter than the drains", ".", "deployment.yaml", "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 30"},
		{"no NetworkPolicy", ".", "kustomization.yaml", "- networkpolicy.yaml\n", ""},
		{"Envoy open to every pod", ".", "networkpolicy.yaml", "      podSelector:\n        matchLabels: {semproc.io/llm-client: \"true\"}\n", ""},
		{"NetworkPolicy selects another pod", ".", "networkpolicy.yaml", "matchLabels: {app.kubernetes.io/name: llm-app}", "matchLabels: {app.kubernetes.io/name: llm}"},
		{"redis latest image", "redis", "redis.yaml", "image: redis:8.2.3", "image: redis:latest"},
		{"redis as root", "redis", "redis.yaml", "runAsUser: 999", "runAsUser: 0"},
		{"alert rule misspelled field", "observability", "prometheusrule.yaml", "    - alert: SemprocStoreDown", "    - alrt: SemprocStoreDown"},
		{"dashboard ConfigMap with a hash suffix", "observability", "kustomization.yaml", "disableNameSuffixHash: true", "disableNameSuffixHash: false"},
		{"dashboard file missing", "observability", "kustomization.yaml", "- semproc-dashboard.json", "- dashboard.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := copyTree(t, os.DirFS("."))
			f := fsys[path.Join(tt.variant, tt.file)]
			if f == nil || !strings.Contains(string(f.Data), tt.old) {
				t.Fatalf("%s no longer contains %q: update the test", tt.file, tt.old)
			}
			f.Data = []byte(strings.Replace(string(f.Data), tt.old, tt.new, 1))
			err := checkVariant(fsys, tt.variant, contextOf(tt.variant))
			if err == nil {
				t.Fatalf("replacing %q with %q in %s: checks passed, want an error", tt.old, tt.new, tt.file)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

func contextOf(dir string) string {
	for _, v := range variants {
		if v.dir == dir {
			return v.context
		}
	}
	return ""
}

func copyTree(t *testing.T, src fs.FS) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(src, p)
		out[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
