package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	redisstore "github.com/semproc/semproc/providers/redis"
	"github.com/semproc/semproc/semantic"
)

// The store is opened once the embeddings' size is known, and reopened when
// it changes; until then deferredStore answers that it is not open.

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

var errStoreNotOpen = errors.New("store not open yet: the embeddings dimension is still unknown")

// deferredStore stands in for the store until it can be opened.
type deferredStore struct {
	s atomic.Pointer[semantic.VectorStore]
}

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
