package envoy

import (
	"strings"
	"testing"

	ext_procv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestCheckExtProc(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *ext_procv3.ExternalProcessor)
		field  string // "" when the filter must pass
	}{
		{"as shipped", func(*ext_procv3.ExternalProcessor) {}, ""},
		{"extra receiving namespace", func(p *ext_procv3.ExternalProcessor) {
			ns := p.GetMetadataOptions().GetReceivingNamespaces()
			ns.Untyped = append(ns.Untyped, "envoy.lb")
		}, ""},
		{"no processing mode", func(p *ext_procv3.ExternalProcessor) { p.ProcessingMode = nil }, "processing_mode"},
		{"request headers skipped", func(p *ext_procv3.ExternalProcessor) {
			p.ProcessingMode.RequestHeaderMode = ext_procv3.ProcessingMode_SKIP
		}, "request_header_mode"},
		{"response headers default", func(p *ext_procv3.ExternalProcessor) {
			p.ProcessingMode.ResponseHeaderMode = ext_procv3.ProcessingMode_DEFAULT
		}, "response_header_mode"},
		{"response body streamed", func(p *ext_procv3.ExternalProcessor) {
			p.ProcessingMode.ResponseBodyMode = ext_procv3.ProcessingMode_STREAMED
		}, "response_body_mode"},
		{"request trailers sent", func(p *ext_procv3.ExternalProcessor) {
			p.ProcessingMode.RequestTrailerMode = ext_procv3.ProcessingMode_SEND
		}, "request_trailer_mode"},
		{"response trailers sent", func(p *ext_procv3.ExternalProcessor) {
			p.ProcessingMode.ResponseTrailerMode = ext_procv3.ProcessingMode_SEND
		}, "response_trailer_mode"},
		{"no message timeout", func(p *ext_procv3.ExternalProcessor) { p.MessageTimeout = nil }, "message_timeout"},
		{"long message timeout", func(p *ext_procv3.ExternalProcessor) { p.MessageTimeout = durationpb.New(MessageTimeout * 2) }, "message_timeout"},
		{"no metadata options", func(p *ext_procv3.ExternalProcessor) { p.MetadataOptions = nil }, "receiving_namespaces"},
		{"http service", func(p *ext_procv3.ExternalProcessor) { p.GrpcService = nil }, "grpc_service"},
		{"observability mode", func(p *ext_procv3.ExternalProcessor) { p.ObservabilityMode = true }, "observability_mode"},
		{"route cache never cleared", func(p *ext_procv3.ExternalProcessor) { p.DisableClearRouteCache = true }, "disable_clear_route_cache"},
		{"route cache retained", func(p *ext_procv3.ExternalProcessor) {
			p.RouteCacheAction = ext_procv3.ExternalProcessor_RETAIN
		}, "route_cache_action"},
		{"no immediate responses", func(p *ext_procv3.ExternalProcessor) { p.DisableImmediateResponse = true }, "disable_immediate_response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := LoadExtProcFilter("envoy.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(p)
			err = CheckExtProc(p)
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("CheckExtProc: %v, want nil", err)
			case tt.field != "" && (err == nil || !strings.Contains(err.Error(), tt.field)):
				t.Errorf("CheckExtProc: %v, want an error naming %s", err, tt.field)
			}
		})
	}
}
