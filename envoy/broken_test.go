package envoy

import (
	"bytes"
	"os"
	"testing"
)

// TestBrokenBootstrapIsRejected shows that the checks catch the mistakes a
// user or a later edit could make: each case breaks one field of a shipped
// file and expects checkBootstrapBytes to refuse it.
func TestBrokenBootstrapIsRejected(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		old, new string
	}{
		{"misspelled field", "envoy.yaml", "failure_mode_allow: true", "failure_mode_alow: true"},
		{"fail closed", "envoy.yaml", "failure_mode_allow: true", "failure_mode_allow: false"},
		{"misspelled @type", "envoy.yaml", "ext_proc.v3.ExternalProcessor", "ext_proc.v3.ExternalProcesor"},
		{"unknown enum value", "envoy.yaml", "request_body_mode: BUFFERED", "request_body_mode: BUFFER"},
		{"streamed request body", "envoy.yaml", "request_body_mode: BUFFERED", "request_body_mode: STREAMED"},
		{"short message timeout", "envoy.yaml", "message_timeout: 10s", "message_timeout: 0.2s"},
		{"no mode override", "envoy.yaml", "allow_mode_override: true", "allow_mode_override: false"},
		{"metadata namespace dropped", "envoy.yaml", "untyped: [semproc]", "untyped: [envoy.lb]"},
		{"wrong ext_proc cluster", "envoy.yaml", "cluster_name: semproc}", "cluster_name: semproc-grpc}"},
		{"wrong semproc port", "envoy.yaml", "port_value: 50051", "port_value: 50052"},
		{"semproc over HTTP/1.1", "envoy.yaml", "http2_protocol_options: {}", "http_protocol_options: {}"},
		{"default buffer limit", "envoy.yaml", "per_connection_buffer_limit_bytes: 16777216\n    filter_chains", "per_connection_buffer_limit_bytes: 1048576\n    filter_chains"},
		{"short route timeout", "envoy.yaml", "timeout: 300s", "timeout: 15s"},
		{"access log misses distance", "envoy.yaml", "semproc:distance", "semproc:dist"},
		{"wrong SNI", "envoy.yaml", "sni: api.openai.com", "sni: openai.com"},
		{"unverified certificate", "envoy.yaml", "            trusted_ca: {filename: /etc/ssl/certs/ca-certificates.crt}\n", ""},
		// Only the validation of messages packed in an Any catches this one.
		{"empty stat_prefix in the HCM", "envoy.yaml", "stat_prefix: llm", "stat_prefix: \"\""},
		{"invalid port", "envoy.yaml", "port_value: 443", "port_value: 70000"},
		{"duplicate key", "envoy.yaml", "message_timeout: 10s", "message_timeout: 10s\n              message_timeout: 10s"},
		{"admin on all interfaces", "envoy.yaml", "{address: 127.0.0.1, port_value: 9901}", "{address: 0.0.0.0, port_value: 9901}"},
		{"router before ext_proc", "envoy-routing.yaml", "          http_filters:\n          - name: envoy.filters.http.ext_proc", "          http_filters:\n          - name: envoy.filters.http.router\n            typed_config:\n              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n          - name: envoy.filters.http.ext_proc"},
		{"route to a missing cluster", "envoy-routing.yaml", "route: {cluster: anthropic,", "route: {cluster: claude,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(tt.old)) {
				t.Fatalf("%s no longer contains %q: update the test", tt.file, tt.old)
			}
			broken := bytes.Replace(data, []byte(tt.old), []byte(tt.new), 1)
			err = checkBootstrapBytes(broken)
			if err == nil {
				t.Fatalf("replacing %q with %q: checks passed, want an error", tt.old, tt.new)
			}
			t.Logf("rejected: %v", err)
		})
	}
}
