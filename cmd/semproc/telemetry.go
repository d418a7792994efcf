package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
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
	deps     *dependencyMetrics
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
	meter := mp.Meter("github.com/semproc/semproc")
	deps, err := newDependencyMetrics(meter)
	if err != nil {
		return nil, err
	}
	t := &telemetry{
		meter:    meter,
		deps:     deps,
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

// Dependencies and their operations, as the dependency metrics label them.
const (
	depEmbeddings = "embeddings"
	depStore      = "store"
	depRouting    = "routing"
	opEmbed       = "embed"
	opGet         = "get"
	opSearch      = "search"
	opPut         = "put"
	// errorBreakerOpen is a call the breaker refused: the dependency was
	// not asked.
	errorBreakerOpen = "breaker_open"
)

// dependencyMetrics time the calls semproc makes to its dependencies and
// count their failures by kind (never their text).
type dependencyMetrics struct {
	duration metric.Float64Histogram
	errors   metric.Int64Counter
}

func newDependencyMetrics(m metric.Meter) (*dependencyMetrics, error) {
	d := &dependencyMetrics{}
	var errs [2]error
	d.duration, errs[0] = m.Float64Histogram("semproc.dependency.duration", metric.WithUnit("s"),
		metric.WithDescription("Latency of the calls to a dependency (embeddings provider, store) that reached it, by operation."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	d.errors, errs[1] = m.Int64Counter("semproc.dependency.errors",
		metric.WithDescription("Failed calls to a dependency, by operation and error.type: timeout, error, breaker_open (refused without asking), not_open (store not open yet)."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	// Listed at zero from the start, so a fresh /metrics shows them and an
	// alert's rate() sees the first failure.
	for _, call := range [][2]string{{depEmbeddings, opEmbed}, {depStore, opGet}, {depStore, opSearch}, {depStore, opPut}} {
		for _, kind := range []string{semantic.FailureTimeout, semantic.FailureError, errorBreakerOpen} {
			d.errors.Add(context.Background(), 0, dependencyAttrs(call[0], call[1], kind))
		}
	}
	return d, nil
}

func dependencyAttrs(dep, op, kind string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("dependency", dep), attribute.String("operation", op), attribute.String("error.type", kind))
}

// observe records one call that started at start and ended with err.
func (d *dependencyMetrics) observe(ctx context.Context, dep, op string, start time.Time, err error) {
	var kind string
	switch {
	case errors.Is(err, context.Canceled):
		return // the request went away: nothing to say of the dependency
	case errors.Is(err, semantic.ErrBreakerOpen):
		kind = errorBreakerOpen
	case errors.Is(err, errStoreNotOpen):
		kind = "not_open"
	default:
		d.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("dependency", dep), attribute.String("operation", op)))
		if err == nil {
			return
		}
		kind = semantic.FailureKind(err)
	}
	d.errors.Add(ctx, 1, dependencyAttrs(dep, op, kind))
}

// observedEmbedder times every embeddings call and traces it.
type observedEmbedder struct {
	next   semantic.Embedder
	tracer trace.Tracer
	deps   *dependencyMetrics
}

var _ semantic.Embedder = (*observedEmbedder)(nil)

func (o *observedEmbedder) Embed(ctx context.Context, text string) ([]float32, error) {
	ctx, span := o.tracer.Start(ctx, "semproc.embeddings")
	defer span.End()
	start := time.Now()
	v, err := o.next.Embed(ctx, text)
	o.deps.observe(ctx, depEmbeddings, opEmbed, start, err)
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

// observedStore times and traces the store's calls.
type observedStore struct {
	next   semantic.VectorStore
	tracer trace.Tracer
	deps   *dependencyMetrics
}

var _ semantic.VectorStore = observedStore{}

func (o observedStore) Get(ctx context.Context, p semantic.Partition, id string) (*semantic.Match, error) {
	ctx, span := o.tracer.Start(ctx, "semproc.store.get")
	defer span.End()
	start := time.Now()
	m, err := o.next.Get(ctx, p, id)
	o.deps.observe(ctx, depStore, opGet, start, err)
	return m, err
}

func (o observedStore) Search(ctx context.Context, q semantic.Query) ([]semantic.Match, error) {
	ctx, span := o.tracer.Start(ctx, "semproc.store.search")
	defer span.End()
	start := time.Now()
	m, err := o.next.Search(ctx, q)
	o.deps.observe(ctx, depStore, opSearch, start, err)
	return m, err
}

func (o observedStore) Put(ctx context.Context, e semantic.Entry) error {
	ctx, span := o.tracer.Start(ctx, "semproc.store.put")
	defer span.End()
	start := time.Now()
	err := o.next.Put(ctx, e)
	o.deps.observe(ctx, depStore, opPut, start, err)
	return err
}
