package envoy

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	ext_procv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// MinBufferLimit is the smallest per-connection buffer limit the shipped
// configs may set: Envoy answers 413 to a BUFFERED request body over the
// limit (1 MiB by default), and long prompts with their history exceed it.
const MinBufferLimit = 8 << 20

// MessageTimeout is the ext_proc message timeout of SPEC §1: an embeddings
// call takes longer than Envoy's 200ms default.
const MessageTimeout = 10 * time.Second

// CheckExtProc reports every way p differs from the ext_proc settings of
// SPEC §1, which semproc's protocol handling relies on.
func CheckExtProc(p *ext_procv3.ExternalProcessor) error {
	var errs []error
	want := func(field string, got, want any) {
		if got != want {
			errs = append(errs, fmt.Errorf("%s = %v, want %v", field, got, want))
		}
	}
	pm := p.GetProcessingMode()
	if pm == nil {
		errs = append(errs, errors.New("processing_mode is not set"))
	}
	want("processing_mode.request_header_mode", pm.GetRequestHeaderMode(), ext_procv3.ProcessingMode_SEND)
	want("processing_mode.request_body_mode", pm.GetRequestBodyMode(), ext_procv3.ProcessingMode_BUFFERED)
	want("processing_mode.response_header_mode", pm.GetResponseHeaderMode(), ext_procv3.ProcessingMode_SEND)
	want("processing_mode.response_body_mode", pm.GetResponseBodyMode(), ext_procv3.ProcessingMode_BUFFERED)
	want("processing_mode.request_trailer_mode", pm.GetRequestTrailerMode(), ext_procv3.ProcessingMode_SKIP)
	want("processing_mode.response_trailer_mode", pm.GetResponseTrailerMode(), ext_procv3.ProcessingMode_SKIP)
	want("allow_mode_override", p.GetAllowModeOverride(), true)
	want("failure_mode_allow", p.GetFailureModeAllow(), true)
	want("message_timeout", p.GetMessageTimeout().AsDuration(), MessageTimeout)
	if ns := p.GetMetadataOptions().GetReceivingNamespaces().GetUntyped(); !slices.Contains(ns, MetadataNamespace) {
		errs = append(errs, fmt.Errorf("metadata_options.receiving_namespaces.untyped = %v, want it to hold %q", ns, MetadataNamespace))
	}
	want("grpc_service.envoy_grpc.cluster_name", p.GetGrpcService().GetEnvoyGrpc().GetClusterName(), SemprocCluster)
	// These would silently turn semproc off or make its replies spurious.
	want("observability_mode", p.GetObservabilityMode(), false)
	want("disable_clear_route_cache", p.GetDisableClearRouteCache(), false)
	want("disable_immediate_response", p.GetDisableImmediateResponse(), false)
	if p.GetRouteCacheAction() == ext_procv3.ExternalProcessor_RETAIN {
		errs = append(errs, errors.New("route_cache_action = RETAIN: routing on the model header needs the route cache cleared"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ext_proc filter differs from SPEC §1: %w", err)
	}
	return nil
}

// CheckSemprocCluster reports every way c fails to reach semproc's ext_proc
// listener: the name the filter uses, HTTP/2 (gRPC needs it; Envoy's
// default upstream protocol is HTTP/1.1) and SEMPROC_GRPC_ADDR's default.
func CheckSemprocCluster(c *clusterv3.Cluster) error {
	var errs []error
	if c.GetName() != SemprocCluster {
		errs = append(errs, fmt.Errorf("name = %q, want %q", c.GetName(), SemprocCluster))
	}
	var addrs []string
	for _, le := range c.GetLoadAssignment().GetEndpoints() {
		for _, e := range le.GetLbEndpoints() {
			sa := e.GetEndpoint().GetAddress().GetSocketAddress()
			addrs = append(addrs, net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10)))
		}
	}
	if !slices.Equal(addrs, []string{SemprocGRPCAddr}) {
		errs = append(errs, fmt.Errorf("endpoints = %v, want [%s]", addrs, SemprocGRPCAddr))
	}
	if err := checkHTTP2(c); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cluster %q: %w", c.GetName(), err)
	}
	return nil
}

func checkHTTP2(c *clusterv3.Cluster) error {
	var opts httpv3.HttpProtocolOptions
	raw, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
	if !ok {
		return errors.New("no HttpProtocolOptions: Envoy would speak HTTP/1.1 to a gRPC server")
	}
	if err := raw.UnmarshalTo(&opts); err != nil {
		return fmt.Errorf("HttpProtocolOptions: %w", err)
	}
	if opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
		return errors.New("HttpProtocolOptions: want explicit_http_config.http2_protocol_options")
	}
	return nil
}
