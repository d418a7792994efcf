package extproc

import (
	"context"
	"fmt"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/semproc/semproc/semantic"
)

// The hit and miss paths through the state machine, as Envoy's messages
// arrive, with the in-process store and a trivial embedder: what semproc
// itself costs per request, embeddings calls aside (see the local
// provider's benchmark for those).

func BenchmarkHitPath(b *testing.B) {
	for _, tc := range []struct {
		name, stored, asked string
		// sdk records the metrics with OpenTelemetry's SDK (as serve
		// does) rather than the no-op meter: what metrics cost a request.
		sdk bool
	}{
		{"exact", "capital of france", "capital of france", false},
		{"exact/sdk-metrics", "capital of france", "capital of france", true},
		{"semantic", "capital of france", "capital of france please", false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var mut func(*Options)
			if tc.sdk {
				mut = func(o *Options) { o.Metrics = sdkMetrics(b) }
			}
			e := newTestEnv(b, mut)
			run(b, e, missMessages(tc.stored))
			msgs := []*extprocv3.ProcessingRequest{
				reqHeaders("/v1/chat/completions", false, "authorization", "Bearer a"),
				reqBody(`{"model":"m","prompt":"`+tc.asked+`"}`, true),
			}
			b.ReportAllocs()
			for b.Loop() {
				out := run(b, e, msgs)
				if out[len(out)-1].GetImmediateResponse() == nil {
					b.Fatal("not a hit")
				}
			}
		})
	}
}

func BenchmarkMissPath(b *testing.B) {
	e := newTestEnv(b, nil)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		run(b, e, missMessages(fmt.Sprintf("question %d", i)))
	}
	if err := e.srv.WaitForWrites(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// sdkMetrics are the request-path metrics on OpenTelemetry's SDK, with a
// price table, read by a reader nobody collects from.
func sdkMetrics(b *testing.B) *Metrics {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := NewMetrics(MetricsOptions{
		Meter: mp.Meter("bench"), APIs: []string{"openai"}, Models: []string{"m"},
		Prices: semantic.Prices{"m": {Input: 1, Output: 2}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func missMessages(prompt string) []*extprocv3.ProcessingRequest {
	return []*extprocv3.ProcessingRequest{
		reqHeaders("/v1/chat/completions", false, "authorization", "Bearer a"),
		reqBody(`{"model":"m","prompt":"`+prompt+`"}`, true),
		respHeaders(":status", "200", "content-type", "application/json"),
		respBody(okBody, true),
	}
}

func run(b *testing.B, e *testEnv, msgs []*extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	fs := &fakeStream{ctx: context.Background(), in: append([]*extprocv3.ProcessingRequest(nil), msgs...)}
	if err := e.srv.Process(fs); err != nil {
		b.Fatal(err)
	}
	if err := e.srv.WaitForWrites(context.Background()); err != nil {
		b.Fatal(err)
	}
	return fs.out
}
