package envoy

import (
	"errors"
	"fmt"
	"os"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	ext_procv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	// Every extension a shipped config names in an "@type" must be linked
	// in: protojson resolves Any types through the global registry, and an
	// unknown type is an error, which is what catches a misspelled one.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// Names the shipped configs and semproc agree on.
const (
	// ExtProcFilterName is the HTTP filter name of ext_proc.
	ExtProcFilterName = "envoy.filters.http.ext_proc"
	// SemprocCluster is the cluster Envoy reaches semproc through.
	SemprocCluster = "semproc"
	// SemprocGRPCAddr is SEMPROC_GRPC_ADDR's default (SPEC §6): semproc
	// listens on loopback, so it must share Envoy's network namespace.
	SemprocGRPCAddr = "127.0.0.1:50051"
	// MetadataNamespace is the dynamic metadata namespace semproc writes.
	MetadataNamespace = "semproc"
)

// MetadataKeys are the keys semproc writes under MetadataNamespace (SPEC §8).
func MetadataKeys() []string {
	return []string{"cache_status", "cache_key", "distance", "route", "model"}
}

// ParseYAML decodes one Envoy resource written in YAML into m, strictly:
// duplicate keys, unknown fields and unregistered "@type"s are errors.
func ParseYAML(data []byte, m proto.Message) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fmt.Errorf("envoy: yaml: %w", err)
	}
	if err := protojson.Unmarshal(js, m); err != nil {
		return fmt.Errorf("envoy: decode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// LoadBootstrap reads, decodes and validates an Envoy bootstrap file.
func LoadBootstrap(path string) (*bootstrapv3.Bootstrap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("envoy: %w", err)
	}
	var b bootstrapv3.Bootstrap
	if err := ParseYAML(data, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := Validate(&b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &b, nil
}

// validator is what protoc-gen-validate generates on every Envoy message.
type validator interface{ ValidateAll() error }

// Validate runs the protos' own validation rules on m and on every message
// packed in an Any below it: a generated ValidateAll stops at an Any, and
// filters, access loggers and transport sockets all live in Anys.
func Validate(m proto.Message) error {
	var errs []error
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, validateAnys(m.ProtoReflect())...)
	return errors.Join(errs...)
}

func validateAnys(m protoreflect.Message) []error {
	var errs []error
	check := func(v protoreflect.Value) {
		msg := v.Message()
		if a, ok := msg.Interface().(*anypb.Any); ok {
			inner, err := a.UnmarshalNew()
			if err != nil {
				errs = append(errs, fmt.Errorf("unpack %s: %w", a.GetTypeUrl(), err))
				return
			}
			if err := Validate(inner); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", a.GetTypeUrl(), err))
			}
			return
		}
		errs = append(errs, validateAnys(msg)...)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := range l.Len() {
				check(l.Get(i))
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				check(mv)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			check(v)
		}
		return true
	})
	return errs
}

// HTTPConnectionManagers returns the HTTP connection managers of every
// static listener, in order.
func HTTPConnectionManagers(b *bootstrapv3.Bootstrap) ([]*hcmv3.HttpConnectionManager, error) {
	var out []*hcmv3.HttpConnectionManager
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				var hcm hcmv3.HttpConnectionManager
				if f.GetTypedConfig().MessageIs(&hcm) {
					if err := f.GetTypedConfig().UnmarshalTo(&hcm); err != nil {
						return nil, fmt.Errorf("envoy: listener %q: %w", l.GetName(), err)
					}
					out = append(out, &hcm)
				}
			}
		}
	}
	return out, nil
}

// ExtProcFilter returns the one ext_proc filter of b's listeners; none or
// several is an error, since the checks and the end-to-end tests rely on a
// single, unambiguous filter.
func ExtProcFilter(b *bootstrapv3.Bootstrap) (*ext_procv3.ExternalProcessor, error) {
	hcms, err := HTTPConnectionManagers(b)
	if err != nil {
		return nil, err
	}
	var found []*ext_procv3.ExternalProcessor
	for _, hcm := range hcms {
		for _, f := range hcm.GetHttpFilters() {
			var p ext_procv3.ExternalProcessor
			if !f.GetTypedConfig().MessageIs(&p) {
				continue
			}
			if err := f.GetTypedConfig().UnmarshalTo(&p); err != nil {
				return nil, fmt.Errorf("envoy: filter %q: %w", f.GetName(), err)
			}
			found = append(found, &p)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("envoy: want exactly one ext_proc filter, found %d", len(found))
	}
	return found[0], nil
}

// LoadExtProcFilter returns the ext_proc filter configured in the bootstrap
// file at path (e.g. envoy/envoy.yaml), after the file has been decoded and
// validated.
func LoadExtProcFilter(path string) (*ext_procv3.ExternalProcessor, error) {
	b, err := LoadBootstrap(path)
	if err != nil {
		return nil, err
	}
	p, err := ExtProcFilter(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
