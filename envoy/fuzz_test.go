package envoy

import (
	"os"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzParseYAML feeds arbitrary documents to ParseYAML: it must return an
// error or a bootstrap that survives a JSON round trip unchanged, and
// Validate must not panic on whatever it accepted.
func FuzzParseYAML(f *testing.F) {
	for _, file := range bootstrapFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("admin: {}"))
	f.Add([]byte(`static_resources: {clusters: [{name: a, typed_extension_protocol_options: {x: {"@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"}}}]}`))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b bootstrapv3.Bootstrap
		if err := ParseYAML(data, &b); err != nil {
			return
		}
		_ = Validate(&b)
		js, err := protojson.Marshal(&b)
		if err != nil {
			t.Fatalf("accepted a bootstrap that does not marshal: %v", err)
		}
		var again bootstrapv3.Bootstrap
		if err := ParseYAML(js, &again); err != nil {
			t.Fatalf("own JSON rejected: %v\n%s", err, js)
		}
		if !proto.Equal(&b, &again) {
			t.Fatalf("round trip changed the bootstrap:\n%s", js)
		}
	})
}
