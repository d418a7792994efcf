package envoysim

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkProxyJSON measures one buffered JSON request and response
// through the proxy and a pass-through processor over loopback gRPC.
func BenchmarkProxyJSON(b *testing.B) {
	var calls atomic.Int32
	h := newHarness(b, ShippedFilter(), continueAll, echoUpstream(&calls))
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.Post(h.url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
