package extproc

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/semproc/semproc/semantic"
)

// GenAI operation names (OpenTelemetry GenAI semantic conventions).
const (
	opChat           = "chat"
	opTextCompletion = "text_completion"
)

// startSpan starts the stream's span in the trace Envoy forwarded
// (traceparent/tracestate), or in a new one. Only handled requests get a
// span: a pass-through costs one round trip and nothing more.
func (st *stream) startSpan() {
	ctx := st.s.o.Propagator.Extract(st.ctx, propagation.MapCarrier(st.headers))
	var attrs []attribute.KeyValue
	if id := st.headers["x-request-id"]; id != "" {
		attrs = append(attrs, attribute.StringSlice("http.request.header.x-request-id", []string{clip(id)}))
	}
	st.ctx, st.span = st.s.o.Tracer.Start(ctx, "semproc.request", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
}

// endSpan ends the stream's span with the GenAI attributes of the request
// and semproc's verdicts; status is the request's cache status.
func (st *stream) endSpan(api, status, route string) {
	if st.span == nil {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", st.ep.operation),
		attribute.String("gen_ai.system", genAISystem(api, st.ep)),
		attribute.String("semproc.cache.status", status),
		attribute.String("semproc.route", route),
	}
	if st.model != "" {
		attrs = append(attrs, attribute.String("gen_ai.request.model", clip(st.model)))
	}
	if st.clientModel != "" && st.clientModel != st.model {
		attrs = append(attrs, attribute.String("semproc.client_model", clip(st.clientModel)))
	}
	if m := st.result.Match; st.result.Status == semantic.StatusHit && m != nil {
		attrs = append(attrs, attribute.Float64("semproc.cache.distance", m.Distance), attribute.String("semproc.cache.key", m.Key))
		if m.Tokens > 0 {
			// Served, not spent: gen_ai.usage.* counts what the provider
			// was paid for, so a hit reports its tokens under semproc's name.
			attrs = append(attrs, attribute.Int("semproc.cache.tokens_served", m.Tokens))
		}
	}
	if c := st.completion; c.OutputTokens > 0 {
		attrs = append(attrs, attribute.Int("gen_ai.usage.output_tokens", c.OutputTokens))
	}
	if c := st.completion; c.InputTokens > 0 {
		attrs = append(attrs, attribute.Int("gen_ai.usage.input_tokens", c.InputTokens))
	}
	if m := st.completion.Model; m != "" {
		attrs = append(attrs, attribute.String("gen_ai.response.model", clip(m)))
	}
	if st.result.Status == semantic.StatusFailed && st.result.Err != nil {
		// The kind only: a dependency's error text may carry URLs.
		attrs = append(attrs, attribute.String("error.type", semantic.FailureKind(st.result.Err)))
	}
	st.span.SetAttributes(attrs...)
	st.span.End()
}

// genAISystem names the provider as the GenAI conventions do.
func genAISystem(api string, ep endpoint) string {
	if api == "openai" && ep.model != "" {
		return "az.ai.openai" // the deployment is in the path: Azure OpenAI
	}
	return api
}
