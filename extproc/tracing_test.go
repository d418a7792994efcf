package extproc

import (
	"errors"
	"fmt"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/semproc/semproc/semantic"
)

// TestSpansContinueEnvoysTrace: a request carrying Envoy's traceparent gets
// its spans in that trace, under Envoy's span, with the GenAI attributes,
// for a miss, a hit and a failure.
func TestSpansContinueEnvoysTrace(t *testing.T) {
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		envoy   = "00f067aa0ba902b7"
	)
	tests := []struct {
		name   string
		embed  error
		prime  bool // store the answer first, so this request hits
		msgs   []*extprocv3.ProcessingRequest
		want   map[string]any
		absent []string
		stored bool
	}{
		{
			name: "miss", msgs: []*extprocv3.ProcessingRequest{
				respHeaders(":status", "200", "content-type", "application/json"), respBody(okBody, true),
			},
			want: map[string]any{
				"semproc.cache.status": "Miss", "gen_ai.usage.output_tokens": int64(7), "gen_ai.usage.input_tokens": int64(3),
				"gen_ai.response.model": "m-2025",
			},
			absent: []string{"semproc.cache.distance", "error.type"},
			stored: true,
		},
		{
			name: "hit", prime: true,
			want: map[string]any{
				"semproc.cache.status": "Hit", "semproc.cache.distance": 0.0, "semproc.cache.tokens_served": int64(7),
			},
			absent: []string{"error.type", "gen_ai.usage.output_tokens", "gen_ai.response.model"},
		},
		{
			name: "failure", embed: errors.New("embeddings answered 503"), msgs: []*extprocv3.ProcessingRequest{
				respHeaders(":status", "200", "content-type", "application/json"), respBody(okBody, true),
			},
			want:   map[string]any{"semproc.cache.status": "Failed", "error.type": "error"},
			absent: []string{"semproc.cache.distance", "gen_ai.usage.output_tokens", "gen_ai.response.model"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			e := newTestEnv(t, func(o *Options) {
				o.Tracer = tp.Tracer("test")
				if tt.embed != nil {
					store, _ := semantic.NewMemory(semantic.MemoryOptions{MaxEntries: 10})
					o.Cache, _ = semantic.NewCache(semantic.CacheOptions{Embedder: wordEmbedder{err: tt.embed}, Store: store, Threshold: 0.2, TTL: time.Hour})
				}
			})
			body := `{"model":"m","prompt":"capital of france"}`
			if tt.prime {
				missThenStore(t, e, body)
			}
			before := len(rec.Ended())
			msgs := append([]*extprocv3.ProcessingRequest{
				reqHeaders("/v1/chat/completions", false, "authorization", "Bearer a",
					"traceparent", fmt.Sprintf("00-%s-%s-01", traceID, envoy), "tracestate", "envoy=1", "x-request-id", "req-42"),
				reqBody(body, true),
			}, tt.msgs...)
			e.exchange(t, msgs...)

			spans := rec.Ended()[before:]
			var req sdktrace.ReadOnlySpan
			inTrace := map[string]bool{}
			for _, s := range spans {
				if s.SpanContext().TraceID().String() == traceID {
					inTrace[s.Name()] = true
				}
				if s.Name() == "semproc.request" {
					req = s
				}
			}
			if req == nil {
				t.Fatalf("no semproc.request span among %d", len(spans))
			}
			if req.SpanContext().TraceID().String() != traceID || req.Parent().SpanID().String() != envoy || !req.Parent().IsRemote() {
				t.Errorf("request span in trace %s under %s, want trace %s under Envoy's %s",
					req.SpanContext().TraceID(), req.Parent().SpanID(), traceID, envoy)
			}
			if got := req.SpanContext().TraceState().Get("envoy"); got != "1" {
				t.Errorf("tracestate envoy=%q, want it carried", got)
			}
			if req.SpanKind() != trace.SpanKindServer {
				t.Errorf("span kind %v", req.SpanKind())
			}
			if !inTrace["semproc.request_body"] {
				t.Errorf("the request body phase is not in Envoy's trace: %v", inTrace)
			}
			attrs := map[string]any{}
			for _, kv := range req.Attributes() {
				attrs[string(kv.Key)] = kv.Value.AsInterface()
			}
			want := map[string]any{
				"gen_ai.operation.name": "chat", "gen_ai.system": "test", "gen_ai.request.model": "m",
				"semproc.route": "none", "http.request.header.x-request-id": []string{"req-42"},
			}
			for k, v := range tt.want {
				want[k] = v
			}
			for k, v := range want {
				if fmt.Sprint(attrs[k]) != fmt.Sprint(v) {
					t.Errorf("%s = %v (%T), want %v (%T)", k, attrs[k], attrs[k], v, v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := attrs[k]; ok {
					t.Errorf("%s = %v, want it absent", k, attrs[k])
				}
			}

			// The background write is a trace of its own, linked to the
			// request's span.
			var store sdktrace.ReadOnlySpan
			for _, s := range spans {
				if s.Name() == "semproc.store" {
					store = s
				}
			}
			if (store != nil) != tt.stored {
				t.Fatalf("store span: %v, want one: %v", store != nil, tt.stored)
			}
			if store != nil {
				links := store.Links()
				if store.SpanContext().TraceID() == req.SpanContext().TraceID() || len(links) != 1 ||
					links[0].SpanContext.SpanID() != req.SpanContext().SpanID() {
					t.Errorf("store span in trace %s with links %v, want a new trace linked to %s",
						store.SpanContext().TraceID(), links, req.SpanContext().SpanID())
				}
			}
		})
	}
}

func TestGenAISystem(t *testing.T) {
	for _, tt := range []struct {
		api  string
		ep   endpoint
		want string
	}{
		{"openai", endpoint{}, "openai"},
		{"openai", endpoint{model: "my-deployment"}, "az.ai.openai"},
		{"anthropic", endpoint{}, "anthropic"},
	} {
		if got := genAISystem(tt.api, tt.ep); got != tt.want {
			t.Errorf("genAISystem(%q, %+v) = %q, want %q", tt.api, tt.ep, got, tt.want)
		}
	}
}
