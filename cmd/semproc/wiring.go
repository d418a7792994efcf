package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semproc/semproc/extproc"
	"github.com/semproc/semproc/providers/anthropic"
	"github.com/semproc/semproc/providers/embeddings"
	"github.com/semproc/semproc/providers/lexicon"
	"github.com/semproc/semproc/providers/local"
	"github.com/semproc/semproc/providers/openai"
	redisstore "github.com/semproc/semproc/providers/redis"
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
	base, pinned, err := newEmbedder(cfg)
	if err != nil {
		return nil, err
	}
	observed, err := newObservedEmbedder(base, tel)
	if err != nil {
		return nil, err
	}
	c := &components{
		cfg:     cfg,
		log:     log,
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
			Embedder: c.embedder, Store: observedStore{next: c.guardedStore, tracer: tel.tracer},
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

// embeddingCacheEntries bounds the embedding cache's entry count; its byte
// bound is SEMPROC_EMBEDDINGS_CACHE_MAX_BYTES.
const embeddingCacheEntries = 16384

func breakerOptions(cfg Config, name string, probeTimeout time.Duration, log *slog.Logger) semantic.BreakerOptions {
	return semantic.BreakerOptions{
		Name: name, Logger: log, Failures: cfg.BreakerFailures, Window: cfg.BreakerWindow, Cooldown: cfg.BreakerCooldown, ProbeTimeout: probeTimeout,
	}
}

// dimensionsChanged follows a learned (or re-learned) embeddings size:
// vectors of the old size are forgotten, the routing descriptions embedded
// again, and the store reopened in the namespace of the new size.
func (c *components) dimensionsChanged(ctx context.Context, n int) {
	c.log.Info("embeddings dimension learnt", "dimensions", n)
	c.vectors.Purge()
	if c.router != nil {
		c.router.Reload(ctx)
	}
	if c.cache != nil {
		go c.reopenStore(ctx, n)
	}
}

// reopenStore opens the store for n dimensions, retrying while it fails and
// n is still the embeddings' size.
func (c *components) reopenStore(ctx context.Context, n int) {
	for wait := time.Second; c.dims.Get() == n; wait = min(wait*2, time.Minute) {
		err := c.openStore(ctx, n)
		if err == nil {
			return
		}
		c.log.Warn("cannot open the store; retrying", "dimensions", n, "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// openStore opens the store for n dimensions and puts it in service; the
// store it replaces is closed.
func (c *components) openStore(ctx context.Context, n int) error {
	s, closer, err := newStore(ctx, c.cfg, n, c.log)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return closer()
	}
	c.store.set(s)
	old := c.storeCloser
	c.storeCloser = closer
	if old != nil {
		return old()
	}
	return nil
}

func newEmbedder(cfg Config) (semantic.Embedder, int, error) {
	if cfg.EmbeddingsProvider == "local" {
		dir, err := modelDir(cfg)
		if err != nil {
			return nil, 0, &configError{err}
		}
		e, err := local.Load(dir)
		if err != nil {
			return nil, 0, &configError{fmt.Errorf("SEMPROC_EMBEDDINGS_MODEL_DIR: %w", err)}
		}
		return e, local.Dimensions, nil
	}
	key, err := readSecret(cfg.EmbeddingsAPIKey, cfg.EmbeddingsAPIKeyFile, "SEMPROC_EMBEDDINGS_API_KEY_FILE")
	if err != nil {
		return nil, 0, err
	}
	o := embeddings.Options{
		URL: cfg.EmbeddingsURL, Model: cfg.EmbeddingsModel, APIKey: key, APIVersion: cfg.EmbeddingsAPIVersion,
		Dimensions: cfg.EmbeddingsDimensions, Timeout: cfg.EmbeddingsTimeout, MaxInputChars: cfg.EmbeddingsMaxChars,
	}
	var e semantic.Embedder
	switch cfg.EmbeddingsProvider {
	case "openai":
		e, err = embeddings.NewOpenAI(o)
	case "azure":
		e, err = embeddings.NewAzure(o)
	default:
		e, err = embeddings.NewOllama(o)
	}
	if err != nil {
		return nil, 0, &configError{fmt.Errorf("SEMPROC_EMBEDDINGS_*: %w", err)}
	}
	return e, cfg.EmbeddingsDimensions, nil
}

// embeddingModel names the embeddings model, for store namespaces.
func embeddingModel(cfg Config) string {
	switch {
	case cfg.EmbeddingsProvider == "local":
		return localModelName
	case cfg.EmbeddingsModel != "":
		return cfg.EmbeddingsModel
	case cfg.EmbeddingsProvider == "azure":
		if u, err := url.Parse(cfg.EmbeddingsURL); err == nil {
			return "azure-" + path.Base(u.Path)
		}
	case cfg.EmbeddingsProvider == "ollama":
		return embeddings.DefaultOllamaModel
	}
	return embeddings.DefaultOpenAIModel
}

func newStore(ctx context.Context, cfg Config, dims int, log *slog.Logger) (semantic.VectorStore, func() error, error) {
	model := embeddingModel(cfg)
	if cfg.VectorDB == "memory" {
		m, err := semantic.NewMemory(semantic.MemoryOptions{
			Namespace: semantic.Namespace("memory", model, dims), MaxEntries: cfg.MemoryMaxEntries, MaxBytes: cfg.MemoryMaxBytes,
			MaxEntriesPerScope: cfg.CacheMaxEntriesPerScope, Dimensions: dims,
		})
		return m, func() error { return nil }, err
	}
	o, err := redisOptions(cfg, dims, log)
	if err != nil {
		return nil, nil, err
	}
	s, err := redisstore.New(ctx, o)
	if err != nil {
		return nil, nil, fmt.Errorf("SEMPROC_REDIS_*: %w", err)
	}
	return s, s.Close, nil
}

func redisOptions(cfg Config, dims int, log *slog.Logger) (redisstore.Options, error) {
	password, err := readSecret(cfg.RedisPassword, cfg.RedisPasswordFile, "SEMPROC_REDIS_PASSWORD_FILE")
	if err != nil {
		return redisstore.Options{}, err
	}
	sentinelPassword, err := readSecret("", cfg.RedisSentinelPasswordFile, "SEMPROC_REDIS_SENTINEL_PASSWORD_FILE")
	if err != nil {
		return redisstore.Options{}, err
	}
	return redisstore.Options{
		URL: cfg.RedisURL, Password: password, TLSCAFile: cfg.RedisTLSCAFile,
		SentinelMaster: cfg.RedisSentinelMaster, SentinelPassword: sentinelPassword, Cluster: cfg.RedisCluster, Addrs: cfg.RedisAddrs,
		Storage: redisstore.Storage(cfg.RedisStorage), Query: redisstore.QueryMode(cfg.RedisQuery),
		Model: embeddingModel(cfg), Dimension: dims, Timeout: cfg.RedisTimeout, DialTimeout: cfg.RedisDialTimeout, PoolSize: cfg.RedisPoolSize,
		MaxEntriesPerScope: cfg.CacheMaxEntriesPerScope,
		Logger:             log.With("component", "redis"),
	}, nil
}

// probeDimensions asks the provider until the embeddings' size is known
// (the GuardedEmbedder learns it from the first healthy answer); requests
// are Failed until then.
func probeDimensions(ctx context.Context, e semantic.Embedder, dims *semantic.Dimensions, timeout time.Duration, log *slog.Logger) {
	for wait := time.Second; dims.Get() == 0; wait = min(wait*2, time.Minute) {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		_, err := e.Embed(pctx, "semproc dimension probe")
		cancel()
		if err == nil || dims.Get() != 0 {
			return
		}
		log.Warn("embeddings dimension probe failed; retrying", "failure", semantic.FailureKind(err), "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// deferredStore stands in for the store until it can be opened.
type deferredStore struct {
	s atomic.Pointer[semantic.VectorStore]
}

var errStoreNotOpen = errors.New("store not open yet: the embeddings dimension is still unknown")

func (d *deferredStore) set(s semantic.VectorStore) { d.s.Store(&s) }

func (d *deferredStore) get() (semantic.VectorStore, error) {
	p := d.s.Load()
	if p == nil {
		return nil, errStoreNotOpen
	}
	return *p, nil
}

func (d *deferredStore) Get(ctx context.Context, p semantic.Partition, id string) (*semantic.Match, error) {
	s, err := d.get()
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, p, id)
}

func (d *deferredStore) Search(ctx context.Context, q semantic.Query) ([]semantic.Match, error) {
	s, err := d.get()
	if err != nil {
		return nil, err
	}
	return s.Search(ctx, q)
}

func (d *deferredStore) Put(ctx context.Context, e semantic.Entry) error {
	s, err := d.get()
	if err != nil {
		return err
	}
	return s.Put(ctx, e)
}

// ready reports the store's state for /readyz.
func (d *deferredStore) ready() error {
	s, err := d.get()
	if err != nil {
		return err
	}
	if r, ok := s.(interface{ Ready() error }); ok {
		return r.Ready()
	}
	return nil
}

func newRouter(cfg Config, e semantic.Embedder, log *slog.Logger) (*semantic.Router, error) {
	// Errors name where the targets came from: the variable, or the file.
	doc, source := []byte(cfg.Routes), "SEMPROC_ROUTES"
	if cfg.RoutesFile != "" {
		b, err := os.ReadFile(cfg.RoutesFile)
		if err != nil {
			return nil, &configError{fmt.Errorf("SEMPROC_ROUTES_FILE: %w", err)}
		}
		doc, source = b, "SEMPROC_ROUTES_FILE "+cfg.RoutesFile
	}
	if strings.TrimSpace(string(doc)) == "" {
		return nil, nil
	}
	targets, err := semantic.ParseTargets(doc)
	if err != nil {
		return nil, &configError{fmt.Errorf("%s: %w", source, err)}
	}
	r, err := semantic.NewRouter(semantic.RouterOptions{
		Targets: targets, Embedder: e, Threshold: threshold(cfg.RoutingDistanceThreshold, defaultRoutingThreshold(cfg)),
		Mode: cfg.RoutingMode, Logger: log.With("component", "router"),
	})
	if err != nil {
		return nil, &configError{fmt.Errorf("%s: %w", source, err)}
	}
	return r, nil
}

func threshold(set *float64, def float64) float64 {
	if set != nil {
		return *set
	}
	return def
}

// defaultCacheThreshold is calibrated per embedder: distances are not
// comparable across models. The local model's comes from the GPTCache
// protocol (README, "Cache quality"); remote models keep SPEC's 0.1 until
// `semproc eval` says otherwise for them.
func defaultCacheThreshold(cfg Config) float64 {
	switch {
	case cfg.EmbeddingsProvider != "local":
		return 0.1
	case cfg.CacheVerifier == "off":
		return local.CacheDistanceThresholdWithoutVerifier
	default:
		return local.CacheDistanceThreshold
	}
}

// newVerifier is the cache verifier at threshold th: with
// SEMPROC_CACHE_VERIFIER=off only its numbers check, else every check.
func newVerifier(cfg Config, lex semantic.Lexicon, th float64) semantic.Verifier {
	if cfg.CacheVerifier == "off" {
		without := map[string]bool{}
		for _, name := range semantic.Checks {
			without[name] = name != semantic.CheckNumbers
		}
		return &semantic.Checker{Threshold: th, Without: without}
	}
	return &semantic.Checker{Lexicon: lex, Threshold: th}
}

// newLexicon loads WordNet for the verifier, when it is on and WordNet has
// been pulled. Without it the verifier still runs: it knows words by their
// spelling only, so it serves fewer paraphrases, never more near-misses;
// the log says so.
func newLexicon(cfg Config, log *slog.Logger) semantic.Lexicon {
	if !cfg.CacheEnabled || cfg.CacheVerifier == "off" {
		return nil
	}
	dir, err := wordnetDir(cfg)
	if err == nil {
		err = local.VerifyWordNet(dir)
	}
	if err == nil {
		started := time.Now()
		var wn *lexicon.WordNet
		if wn, err = lexicon.LoadWordNet(dir); err == nil {
			log.Info("WordNet loaded for the cache verifier", "dir", dir, "took", time.Since(started).Round(time.Millisecond))
			return wn
		}
	}
	log.Warn("cache verifier without WordNet: it knows words by spelling only, so fewer paraphrases hit", "error", err)
	return nil
}

// defaultRoutingThreshold: the local model puts a prompt and a short topic
// description further apart than large models do (README, "Routing
// quality").
func defaultRoutingThreshold(cfg Config) float64 {
	if cfg.EmbeddingsProvider == "local" {
		return local.RoutingDistanceThreshold
	}
	return semantic.DefaultRouteThreshold
}
