package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/semproc/semproc/extproc"
	"github.com/semproc/semproc/providers/anthropic"
	"github.com/semproc/semproc/providers/openai"
	"github.com/semproc/semproc/semantic"
)

// localModelName names the built-in model in store namespaces.
const localModelName = "use-lite-0.2.0"

// components are semproc's parts, wired from a Config; serve, explain and
// eval share them so they behave the same.
type components struct {
	cfg          Config
	log          *slog.Logger
	guarded      *semantic.GuardedEmbedder // the provider behind its breaker
	dims         *semantic.Dimensions
	vectors      *semantic.EmbeddingCache // over guarded
	embedder     semantic.Embedder        // what the cache and the router use
	store        *deferredStore
	guardedStore *semantic.GuardedStore
	cache        *semantic.Cache  // nil when the cache is off
	lexicon      semantic.Lexicon // the verifier's; nil without WordNet
	router       *semantic.Router
	formats      extproc.Formats
	prices       semantic.Prices // nil without SEMPROC_PRICES_FILE

	mu          sync.Mutex // the store changes from the background
	storeCloser func() error
	closed      bool
}

func (c *components) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.storeCloser != nil {
		return c.storeCloser()
	}
	return nil
}

// build wires the parts. Only bad configuration fails it: a provider or a
// store that is down makes requests Failed until it comes back.
func build(ctx context.Context, cfg Config, log *slog.Logger, tel *telemetry) (*components, error) {
	prices, err := loadPrices(cfg)
	if err != nil {
		return nil, err
	}
	base, pinned, err := newEmbedder(cfg)
	if err != nil {
		return nil, err
	}
	observed := &observedEmbedder{next: base, tracer: tel.tracer, deps: tel.deps}
	c := &components{
		cfg:     cfg,
		log:     log,
		prices:  prices,
		store:   &deferredStore{},
		formats: extproc.Formats{Chat: openai.Chat{}, Completions: openai.Completions{}, Messages: anthropic.Messages{}},
	}
	c.dims = semantic.NewDimensions(semantic.DimensionsOptions{Pinned: pinned, OnChange: func(n int) { c.dimensionsChanged(ctx, n) }})
	if c.guarded, err = semantic.NewGuardedEmbedder(semantic.GuardedEmbedderOptions{
		Next: observed, Dimensions: c.dims, Breaker: breakerOptions(cfg, "embeddings", cfg.EmbeddingsTimeout, log),
	}); err != nil {
		return nil, &configError{err}
	}
	if c.vectors, err = semantic.NewEmbeddingCache(semantic.EmbeddingCacheOptions{
		Next: c.guarded, MaxEntries: embeddingCacheEntries, MaxBytes: cfg.EmbeddingsCacheMaxBytes,
	}); err != nil {
		return nil, &configError{err}
	}
	c.embedder = c.vectors
	if cfg.CacheEnabled {
		if c.guardedStore, err = semantic.NewGuardedStore(c.store, breakerOptions(cfg, "store", max(cfg.RedisTimeout, cfg.RedisDialTimeout), log)); err != nil {
			return nil, &configError{err}
		}
		th := threshold(cfg.CacheDistanceThreshold, defaultCacheThreshold(cfg))
		c.lexicon = newLexicon(cfg, log)
		c.cache, err = semantic.NewCache(semantic.CacheOptions{
			Embedder: c.embedder, Store: observedStore{next: c.guardedStore, tracer: tel.tracer, deps: tel.deps},
			Threshold: th, TTL: cfg.CacheTTL, Dimensions: pinned,
			Verifier: newVerifier(cfg, c.lexicon, th),
		})
		if err != nil {
			return nil, &configError{err}
		}
		if pinned > 0 {
			if err := c.openStore(ctx, pinned); err != nil {
				return nil, &configError{err}
			}
		} else if cfg.VectorDB == "redis" {
			// The store opens once the dimension is known; its
			// configuration is checked now, so bad settings still stop
			// start-up.
			o, err := redisOptions(cfg, 0, log)
			if err == nil {
				err = o.Validate()
			}
			if err != nil {
				return nil, &configError{fmt.Errorf("SEMPROC_REDIS_*: %w", err)}
			}
		}
	}
	if c.router, err = newRouter(cfg, c.embedder, log); err != nil {
		return nil, err
	}
	if c.router != nil {
		// Started once it is in place: a dimension learnt meanwhile
		// reloads it.
		c.router.Start(ctx)
	}
	if pinned == 0 {
		go probeDimensions(ctx, c.embedder, c.dims, cfg.EmbeddingsTimeout, log)
	}
	return c, nil
}

// models are the model names known in advance, each a label value of its
// own in the metrics: the routing targets' and the priced ones.
func (c *components) models() []string {
	var out []string
	if c.router != nil {
		out = c.router.Models()
	}
	return append(out, slices.Sorted(maps.Keys(c.prices))...)
}

// embeddingCacheEntries bounds the embedding cache's entry count; its byte
// bound is SEMPROC_EMBEDDINGS_CACHE_MAX_BYTES.
const embeddingCacheEntries = 16384

func breakerOptions(cfg Config, name string, probeTimeout time.Duration, log *slog.Logger) semantic.BreakerOptions {
	return semantic.BreakerOptions{
		Name: name, Logger: log, Failures: cfg.BreakerFailures, Window: cfg.BreakerWindow, Cooldown: cfg.BreakerCooldown, ProbeTimeout: probeTimeout,
	}
}
