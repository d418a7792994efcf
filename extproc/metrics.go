package extproc

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Metrics are the request-path instruments of SPEC §8. They come from a
// Meter passed in, never from a global provider.
type Metrics struct {
	requests     metric.Int64Counter
	failures     metric.Int64Counter
	stores       metric.Int64Counter
	tokensServed metric.Int64Counter
	lookup       metric.Float64Histogram
	distance     metric.Float64Histogram
}

// NewMetrics creates the instruments on m.
func NewMetrics(m metric.Meter) (*Metrics, error) {
	var mt Metrics
	var errs [6]error
	mt.requests, errs[0] = m.Int64Counter("semproc.requests", metric.WithDescription("Handled requests by API, cache status and route."))
	mt.failures, errs[1] = m.Int64Counter("semproc.failures", metric.WithDescription("Failures semproc swallowed to fail open, by stage."))
	mt.stores, errs[2] = m.Int64Counter("semproc.cache.stores", metric.WithDescription("Responses considered for storing, by result."))
	mt.tokensServed, errs[3] = m.Int64Counter("semproc.cache.tokens_served", metric.WithDescription("Completion tokens answered from the cache instead of the upstream."))
	mt.lookup, errs[4] = m.Float64Histogram("semproc.cache.lookup.duration", metric.WithUnit("s"), metric.WithDescription("Cache lookup latency, embeddings included."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	mt.distance, errs[5] = m.Float64Histogram("semproc.cache.match.distance", metric.WithDescription("Cosine distance of cache hits (0 for exact hits)."),
		metric.WithExplicitBucketBoundaries(0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5))
	return &mt, errors.Join(errs[:]...)
}

// NopMetrics records nothing.
func NopMetrics() *Metrics {
	m, _ := NewMetrics(noop.NewMeterProvider().Meter("semproc"))
	return m
}

func (m *Metrics) request(ctx context.Context, api, status, route string) {
	m.requests.Add(ctx, 1, metric.WithAttributes(attribute.String("api", api), attribute.String("cache_status", status), attribute.String("route", route)))
}

func (m *Metrics) failure(ctx context.Context, stage string) {
	m.failures.Add(ctx, 1, metric.WithAttributes(attribute.String("stage", stage)))
}

func (m *Metrics) stored(ctx context.Context, result string) {
	m.stores.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
}
