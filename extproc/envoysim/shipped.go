package envoysim

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ShippedBufferLimit is the per_connection_buffer_limit_bytes of the
// shipped envoy/envoy.yaml.
const ShippedBufferLimit = 16 << 20

// ShippedFilter is the ext_proc filter of the shipped envoy/envoy.yaml
// (SPEC §1), built in Go so that a binary needs no copy of the file; a test
// checks they are the same.
func ShippedFilter() *filterv3.ExternalProcessor {
	return &filterv3.ExternalProcessor{
		GrpcService: &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
			EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: "semproc"},
		}},
		ProcessingMode: &filterv3.ProcessingMode{
			RequestHeaderMode:   filterv3.ProcessingMode_SEND,
			RequestBodyMode:     filterv3.ProcessingMode_BUFFERED,
			ResponseHeaderMode:  filterv3.ProcessingMode_SEND,
			ResponseBodyMode:    filterv3.ProcessingMode_BUFFERED,
			RequestTrailerMode:  filterv3.ProcessingMode_SKIP,
			ResponseTrailerMode: filterv3.ProcessingMode_SKIP,
		},
		AllowModeOverride: true,
		FailureModeAllow:  true,
		MessageTimeout:    durationpb.New(10 * time.Second),
		MetadataOptions: &filterv3.MetadataOptions{
			ReceivingNamespaces: &filterv3.MetadataOptions_MetadataNamespaces{Untyped: []string{"semproc"}},
		},
	}
}
