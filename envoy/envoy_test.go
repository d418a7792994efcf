package envoy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	streamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// bootstrapFiles are the standalone Envoy configs users copy.
var bootstrapFiles = []string{"envoy.yaml", "envoy-routing.yaml"}

// minRouteTimeout is the least route timeout that lets a long completion
// finish; Envoy's default of 15s cuts them.
const minRouteTimeout = 60 * time.Second

func TestShippedBootstraps(t *testing.T) {
	for _, file := range bootstrapFiles {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkBootstrapBytes(data); err != nil {
				t.Errorf("%s:\n%v", file, err)
			}
		})
	}
}

func TestLoadExtProcFilter(t *testing.T) {
	for _, file := range bootstrapFiles {
		t.Run(file, func(t *testing.T) {
			p, err := LoadExtProcFilter(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckExtProc(p); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestExtProcFilterWantsExactlyOne(t *testing.T) {
	data, err := os.ReadFile("envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(b *bootstrapv3.Bootstrap) error
		want   int
	}{
		{"as shipped", func(*bootstrapv3.Bootstrap) error { return nil }, 1},
		{"second listener", func(b *bootstrapv3.Bootstrap) error {
			sr := b.GetStaticResources()
			sr.Listeners = append(sr.Listeners, sr.Listeners[0])
			return nil
		}, 2},
		{"no listener", func(b *bootstrapv3.Bootstrap) error {
			b.GetStaticResources().Listeners = nil
			return nil
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bootstrapv3.Bootstrap
			if err := ParseYAML(data, &b); err != nil {
				t.Fatal(err)
			}
			if err := tt.mutate(&b); err != nil {
				t.Fatal(err)
			}
			_, err := ExtProcFilter(&b)
			if (err == nil) != (tt.want == 1) {
				t.Errorf("ExtProcFilter with %d filters: err = %v", tt.want, err)
			}
		})
	}
}

// checkBootstrapBytes decodes and validates an Envoy bootstrap and checks
// every invariant the shipped configs must keep; it returns all violations.
func checkBootstrapBytes(data []byte) error {
	var b bootstrapv3.Bootstrap
	if err := ParseYAML(data, &b); err != nil {
		return err
	}
	if err := Validate(&b); err != nil {
		return err
	}
	return checkBootstrap(&b)
}

func checkBootstrap(b *bootstrapv3.Bootstrap) error {
	var errs []error
	p, err := ExtProcFilter(b)
	if err != nil {
		return err
	}
	errs = append(errs, CheckExtProc(p))
	clusters := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		clusters[c.GetName()] = c
		if got := c.GetPerConnectionBufferLimitBytes().GetValue(); got < MinBufferLimit {
			errs = append(errs, fmt.Errorf("cluster %q: per_connection_buffer_limit_bytes = %d, want >= %d", c.GetName(), got, MinBufferLimit))
		}
		if c.GetName() != SemprocCluster {
			errs = append(errs, checkTLSCluster(c))
		}
	}
	if c, ok := clusters[SemprocCluster]; ok {
		errs = append(errs, CheckSemprocCluster(c))
	} else {
		errs = append(errs, fmt.Errorf("no cluster %q", SemprocCluster))
	}
	for _, l := range b.GetStaticResources().GetListeners() {
		if got := l.GetPerConnectionBufferLimitBytes().GetValue(); got < MinBufferLimit {
			errs = append(errs, fmt.Errorf("listener %q: per_connection_buffer_limit_bytes = %d, want >= %d", l.GetName(), got, MinBufferLimit))
		}
	}
	if a := b.GetAdmin().GetAddress().GetSocketAddress().GetAddress(); a != "" && !net.ParseIP(a).IsLoopback() {
		errs = append(errs, fmt.Errorf("admin listens on %s: the admin API must stay on loopback", a))
	}
	hcms, err := HTTPConnectionManagers(b)
	if err != nil {
		return err
	}
	for _, hcm := range hcms {
		errs = append(errs, checkFilterOrder(hcm.GetHttpFilters()), checkAccessLog(hcm.GetAccessLog()))
		for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				a := r.GetRoute()
				if _, ok := clusters[a.GetCluster()]; !ok {
					errs = append(errs, fmt.Errorf("route %v: unknown cluster %q", r.GetMatch(), a.GetCluster()))
				}
				if got := a.GetTimeout(); got == nil || got.AsDuration() < minRouteTimeout {
					errs = append(errs, fmt.Errorf("route %v: timeout %v, want >= %v", r.GetMatch(), got.AsDuration(), minRouteTimeout))
				}
				if !a.GetAutoHostRewrite().GetValue() {
					errs = append(errs, fmt.Errorf("route %v: auto_host_rewrite is off: the API would get the client's Host", r.GetMatch()))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkFilterOrder wants ext_proc before the router, which must come last.
func checkFilterOrder(filters []*hcmv3.HttpFilter) error {
	names := make([]string, len(filters))
	for i, f := range filters {
		names[i] = f.GetName()
	}
	if len(filters) < 2 || filters[0].GetName() != ExtProcFilterName || !filters[len(filters)-1].GetTypedConfig().MessageIs(&routerv3.Router{}) {
		return fmt.Errorf("http_filters = %v, want %s first and the router last", names, ExtProcFilterName)
	}
	return nil
}

// checkAccessLog wants a stdout access log that prints every key semproc
// writes to its dynamic metadata namespace.
func checkAccessLog(logs []*accesslogv3.AccessLog) error {
	var text strings.Builder
	for _, l := range logs {
		var so streamv3.StdoutAccessLog
		if !l.GetTypedConfig().MessageIs(&so) {
			continue
		}
		if err := l.GetTypedConfig().UnmarshalTo(&so); err != nil {
			return err
		}
		f := so.GetLogFormat()
		text.WriteString(f.GetTextFormat())
		text.WriteString(f.GetTextFormatSource().GetInlineString())
		for _, v := range f.GetJsonFormat().GetFields() {
			text.WriteString(structText(v))
		}
	}
	var errs []error
	for _, k := range MetadataKeys() {
		field := fmt.Sprintf("%%DYNAMIC_METADATA(%s:%s)%%", MetadataNamespace, k)
		if !strings.Contains(text.String(), field) {
			errs = append(errs, fmt.Errorf("stdout access log does not print %s", field))
		}
	}
	return errors.Join(errs...)
}

func structText(v *structpb.Value) string {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return k.StringValue
	case *structpb.Value_StructValue:
		var s strings.Builder
		for _, f := range k.StructValue.GetFields() {
			s.WriteString(structText(f))
		}
		return s.String()
	}
	return ""
}

// checkTLSCluster wants an upstream API cluster to use TLS with SNI and a
// verified certificate for the host it dials.
func checkTLSCluster(c *clusterv3.Cluster) error {
	var hosts []string
	for _, le := range c.GetLoadAssignment().GetEndpoints() {
		for _, e := range le.GetLbEndpoints() {
			sa := e.GetEndpoint().GetAddress().GetSocketAddress()
			hosts = append(hosts, sa.GetAddress())
			if sa.GetPortValue() != 443 {
				return fmt.Errorf("cluster %q: port %s, want 443", c.GetName(), strconv.Itoa(int(sa.GetPortValue())))
			}
		}
	}
	if len(hosts) != 1 {
		return fmt.Errorf("cluster %q: want one endpoint, got %v", c.GetName(), hosts)
	}
	var tls tlsv3.UpstreamTlsContext
	if err := c.GetTransportSocket().GetTypedConfig().UnmarshalTo(&tls); err != nil {
		return fmt.Errorf("cluster %q: no UpstreamTlsContext: %w", c.GetName(), err)
	}
	var errs []error
	if tls.GetSni() != hosts[0] {
		errs = append(errs, fmt.Errorf("sni = %q, want %q", tls.GetSni(), hosts[0]))
	}
	vc := tls.GetCommonTlsContext().GetValidationContext()
	if vc.GetTrustedCa() == nil {
		errs = append(errs, errors.New("no trusted_ca: Envoy would accept any certificate"))
	}
	sans := vc.GetMatchTypedSubjectAltNames()
	if len(sans) != 1 || sans[0].GetMatcher().GetExact() != hosts[0] {
		errs = append(errs, fmt.Errorf("match_typed_subject_alt_names = %v, want exactly %q", sans, hosts[0]))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cluster %q: %w", c.GetName(), err)
	}
	return nil
}
