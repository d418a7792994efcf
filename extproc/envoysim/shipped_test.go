package envoysim

import (
	"fmt"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/semproc/semproc/envoy"
)

func TestShippedFilterIsEnvoyYAMLs(t *testing.T) {
	b, err := envoy.LoadBootstrap("../../envoy/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := envoy.ExtProcFilter(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(ShippedFilter(), f) {
		t.Errorf("ShippedFilter differs from envoy/envoy.yaml's filter:\n Go:   %v\n file: %v", ShippedFilter(), f)
	}
	for _, l := range b.GetStaticResources().GetListeners() {
		if got := l.GetPerConnectionBufferLimitBytes().GetValue(); got != ShippedBufferLimit {
			t.Errorf("listener %s: per_connection_buffer_limit_bytes %d, ShippedBufferLimit %d", l.GetName(), got, ShippedBufferLimit)
		}
	}
}

// TestShippedFilterConfig runs a request through the proxy configured with
// the ext_proc filter of the envoy.yaml users copy.
func TestShippedFilterConfig(t *testing.T) {
	f, err := envoy.LoadExtProcFilter("../../envoy/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	h := newHarness(t, f, continueAll, echoUpstream(&calls))
	resp, body := post(t, h.url, `{"model":"m"}`)
	if resp.StatusCode != 200 || body != `{"echo":"{\"model\":\"m\"}"}` {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	want := []string{"request_headers", `request_body({"model":"m"}) eos`, "response_headers", `response_body({"echo":"{\"model\":\"m\"}"}) eos`}
	if got := kinds(h.lastExchange(t).Sent()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
}
