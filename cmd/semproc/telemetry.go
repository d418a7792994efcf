package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/semproc/semproc/semantic"
)

// telemetry holds the providers semproc passes to its packages: nothing is
// global, and nothing is exported unless OTEL_* variables ask for it.
type telemetry struct {
	meter    metric.Meter
	tracer   trace.Tracer
	metrics  http.Handler
	shutdown func(context.Context) error
}

func newTelemetry(ctx context.Context, getenv func(string) string) (*telemetry, error) {
	reg := prometheus.NewRegistry()
	// The Go and process collectors give go_goroutines and
	// process_resident_memory_bytes: what a soak (and an operator) watches.
	if err := errors.Join(reg.Register(collectors.NewGoCollector()), reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))); err != nil {
		return nil, err
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t := &telemetry{
		meter:    mp.Meter("github.com/semproc/semproc"),
		tracer:   noop.NewTracerProvider().Tracer("semproc"),
		metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		shutdown: mp.Shutdown,
	}
	if !tracesRequested(getenv) {
		return t, nil
	}
	// The exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself.
	te, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(te))
	t.tracer = tp.Tracer("github.com/semproc/semproc")
	t.shutdown = func(ctx context.Context) error { return errors.Join(mp.Shutdown(ctx), tp.Shutdown(ctx)) }
	return t, nil
}

func tracesRequested(getenv func(string) string) bool {
	if e := getenv("OTEL_TRACES_EXPORTER"); e != "" {
		return e == "otlp"
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// observedEmbedder times every embeddings call and traces it.
type observedEmbedder struct {
	next     semantic.Embedder
	tracer   trace.Tracer
	duration metric.Float64Histogram
}

var _ semantic.Embedder = (*observedEmbedder)(nil)

func newObservedEmbedder(next semantic.Embedder, t *telemetry) (*observedEmbedder, error) {
	h, err := t.meter.Float64Histogram("semproc.embeddings.duration", metric.WithUnit("s"),
		metric.WithDescription("Embeddings call latency (cache misses of the embedding cache only)."),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	if err != nil {
		return nil, err
	}
	return &observedEmbedder{next: next, tracer: t.tracer, duration: h}, nil
}

func (o *observedEmbedder) Embed(ctx context.Context, text string) ([]float32, error) {
	ctx, span := o.tracer.Start(ctx, "semproc.embeddings")
	defer span.End()
	start := time.Now()
	v, err := o.next.Embed(ctx, text)
	o.duration.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		span.RecordError(err)
	}
	return v, err
}

// Fits passes the wrapped embedder's input limit through.
func (o *observedEmbedder) Fits(text string) bool {
	l, ok := o.next.(semantic.InputLimiter)
	return !ok || l.Fits(text)
}

// observedStore traces the store's calls.
type observedStore struct {
	next   semantic.VectorStore
	tracer trace.Tracer
}

var _ semantic.VectorStore = observedStore{}

func (o observedStore) Get(ctx context.Context, p semantic.Partition, id string) (*semantic.Match, error) {
	ctx, span := o.tracer.Start(ctx, "semproc.store.get")
	defer span.End()
	return o.next.Get(ctx, p, id)
}

func (o observedStore) Search(ctx context.Context, q semantic.Query) ([]semantic.Match, error) {
	ctx, span := o.tracer.Start(ctx, "semproc.store.search")
	defer span.End()
	return o.next.Search(ctx, q)
}

func (o observedStore) Put(ctx context.Context, e semantic.Entry) error {
	ctx, span := o.tracer.Start(ctx, "semproc.store.put")
	defer span.End()
	return o.next.Put(ctx, e)
}
