package extproc

import (
	"context"
	"errors"
	"sync"
	"unicode"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/semproc/semproc/semantic"
)

// MetricsOptions configure the request-path instruments.
type MetricsOptions struct {
	// Meter makes the instruments; never a global provider.
	Meter metric.Meter
	// APIs are the formats served (Format.API): their series are listed,
	// at zero, before the first request.
	APIs []string
	// Models always get a model label of their own: the routing targets'
	// and the priced ones. Other model names get one on first sight, up to
	// MaxSeenModels, then share "other".
	Models []string
	// Prices, when set, turn the tokens a hit serves into an estimated
	// cost saved.
	Prices semantic.Prices
}

// MaxSeenModels bounds the model label values given to names that are
// neither routing targets nor priced: a client chooses its model name, and
// every new name would otherwise be a new series in Prometheus.
const MaxSeenModels = 20

// maxModelLabel is the longest model name kept as a label value.
const maxModelLabel = 64

// Label values of models that get none of their own.
const (
	modelOther   = "other"
	modelUnknown = "unknown" // the request named no model
)

// Failure stages (semproc.failures) and store results
// (semproc.cache.stores); listed so every series exists from the start.
const (
	stageLookup = "lookup"
	stageRoute  = "route"
	stageReplay = "replay"
	stageStore  = "store"
	stagePanic  = "panic"

	storeStored        = "stored"
	storeFailed        = "failed"
	storeRejected      = "rejected"
	storeNotStorable   = "not_storable"
	tokenTypeInput     = "input"
	tokenTypeOutput    = "output"
	attrGenAITokenType = "gen_ai.token.type"
)

// Metrics are the request-path instruments of SPEC §8. They come from a
// Meter passed in, never from a global provider.
type Metrics struct {
	requests     metric.Int64Counter
	failures     metric.Int64Counter
	stores       metric.Int64Counter
	tokensServed metric.Int64Counter
	costSaved    metric.Float64Counter
	lookup       metric.Float64Histogram
	distance     metric.Float64Histogram
	prices       semantic.Prices
	models       *modelLabels
}

// NewMetrics creates the instruments on o.Meter and gives every series
// whose labels are known in advance its zero, so a fresh /metrics lists
// them and rate() sees the first increment.
func NewMetrics(o MetricsOptions) (*Metrics, error) {
	m := o.Meter
	mt := Metrics{prices: o.Prices, models: newModelLabels(o.Models)}
	var errs [7]error
	mt.requests, errs[0] = m.Int64Counter("semproc.requests", metric.WithDescription("Handled requests by API, cache status, route and effective model."))
	mt.failures, errs[1] = m.Int64Counter("semproc.failures", metric.WithDescription("Failures semproc swallowed to fail open, by stage."))
	mt.stores, errs[2] = m.Int64Counter("semproc.cache.stores", metric.WithDescription("Responses considered for storing, by result."))
	mt.tokensServed, errs[3] = m.Int64Counter("semproc.cache.tokens_served", metric.WithDescription("Tokens answered from the cache instead of the upstream, by gen_ai.token.type: input (the stored answer's prompt) and output."))
	mt.costSaved, errs[4] = m.Float64Counter("semproc.cache.cost_saved.usd", metric.WithUnit("{USD}"), metric.WithDescription("Estimated upstream cost of the tokens answered from the cache, from SEMPROC_PRICES_FILE; models without a price count nothing."))
	// 1.5 and 2 ms tell whether a hit's p99 is within 2 ms (issue 12).
	mt.lookup, errs[5] = m.Float64Histogram("semproc.cache.lookup.duration", metric.WithUnit("s"), metric.WithDescription("Cache lookup latency, embeddings included."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	mt.distance, errs[6] = m.Float64Histogram("semproc.cache.match.distance", metric.WithDescription("Cosine distance of cache hits (0 for exact hits)."),
		metric.WithExplicitBucketBoundaries(0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	mt.zero(o.APIs)
	return &mt, nil
}

// zero adds 0 to the series known before any request. Histograms have no
// zero: they appear with their first observation.
func (m *Metrics) zero(apis []string) {
	ctx := context.Background()
	for _, api := range apis {
		for _, s := range []semantic.Status{semantic.StatusHit, semantic.StatusMiss, semantic.StatusRefresh, semantic.StatusBypass, semantic.StatusFailed} {
			m.requests.Add(ctx, 0, requestAttrs(api, string(s), "none", modelOther))
		}
		for _, typ := range []string{tokenTypeInput, tokenTypeOutput} {
			m.tokensServed.Add(ctx, 0, tokenAttrs(api, modelOther, typ))
		}
		if m.prices != nil {
			m.costSaved.Add(ctx, 0, metric.WithAttributes(attribute.String("api", api), attribute.String("model", modelOther)))
		}
	}
	for _, s := range []string{stageLookup, stageRoute, stageReplay, stageStore, stagePanic} {
		m.failures.Add(ctx, 0, metric.WithAttributes(attribute.String("stage", s)))
	}
	for _, r := range []string{storeStored, storeFailed, storeRejected, storeNotStorable} {
		m.stores.Add(ctx, 0, metric.WithAttributes(attribute.String("result", r)))
	}
}

// NopMetrics records nothing.
func NopMetrics() *Metrics {
	m, _ := NewMetrics(MetricsOptions{Meter: noop.NewMeterProvider().Meter("semproc")})
	return m
}

func requestAttrs(api, status, route, model string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("api", api), attribute.String("cache_status", status),
		attribute.String("route", route), attribute.String("model", model))
}

func tokenAttrs(api, model, typ string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("api", api), attribute.String("model", model), attribute.String(attrGenAITokenType, typ))
}

func (m *Metrics) request(ctx context.Context, api, status, route, model string) {
	m.requests.Add(ctx, 1, requestAttrs(api, status, route, m.models.label(model)))
}

// hit counts what a cache hit served instead of the upstream: its tokens
// and, when the model is priced, their estimated cost.
func (m *Metrics) hit(ctx context.Context, api, model string, match *semantic.Match) {
	m.distance.Record(ctx, match.Distance)
	label := m.models.label(model)
	m.tokensServed.Add(ctx, int64(match.InputTokens), tokenAttrs(api, label, tokenTypeInput))
	m.tokensServed.Add(ctx, int64(match.Tokens), tokenAttrs(api, label, tokenTypeOutput))
	if cost, ok := m.prices.Cost(model, semantic.Usage{InputTokens: match.InputTokens, OutputTokens: match.Tokens}); ok {
		m.costSaved.Add(ctx, cost, metric.WithAttributes(attribute.String("api", api), attribute.String("model", label)))
	}
}

func (m *Metrics) failure(ctx context.Context, stage string) {
	m.failures.Add(ctx, 1, metric.WithAttributes(attribute.String("stage", stage)))
}

func (m *Metrics) stored(ctx context.Context, result string) {
	m.stores.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
}

// modelLabels bounds the model label's values: known models, then the
// first MaxSeenModels other names seen, then "other".
type modelLabels struct {
	// mu is read-locked for a name seen before, as nearly every request's
	// is, so requests do not wait for one another here.
	mu   sync.RWMutex
	seen map[string]bool // known models are true from the start
	left int
}

func newModelLabels(known []string) *modelLabels {
	l := &modelLabels{seen: map[string]bool{}, left: MaxSeenModels}
	for _, m := range known {
		if labelable(m) {
			l.seen[m] = true
		}
	}
	return l
}

func (l *modelLabels) label(model string) string {
	if model == "" {
		return modelUnknown
	}
	if !labelable(model) {
		return modelOther
	}
	l.mu.RLock()
	seen, full := l.seen[model], l.left == 0
	l.mu.RUnlock()
	switch {
	case seen:
		return model
	case full:
		return modelOther
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[model] {
		return model
	}
	if l.left == 0 {
		return modelOther
	}
	l.left--
	l.seen[model] = true
	return model
}

// labelable reports whether a model name may be a label value: short, and
// printable, so a hostile name cannot bloat or garble the exposition.
func labelable(model string) bool {
	if len(model) > maxModelLabel || model == modelOther || model == modelUnknown {
		return false
	}
	for _, r := range model {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
