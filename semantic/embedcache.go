package semantic

import (
	"context"
	"fmt"
	"sync"
)

// EmbeddingCache remembers the vectors of recent texts, so the same text is
// never embedded twice while it is remembered: a repeated prompt, and the
// routing and cache lookups of one request, cost one embeddings call.
// Concurrent calls for the same text share one call.
type EmbeddingCache struct {
	next     Embedder
	mu       sync.Mutex
	vectors  *lru[string, []float32]
	inflight map[string]*embedCall
}

type embedCall struct {
	done chan struct{}
	vec  []float32
	err  error
}

var (
	_ Embedder     = (*EmbeddingCache)(nil)
	_ InputLimiter = (*EmbeddingCache)(nil)
)

// NewEmbeddingCache wraps next with a cache of at most maxEntries vectors.
func NewEmbeddingCache(next Embedder, maxEntries int) *EmbeddingCache {
	return &EmbeddingCache{next: next, vectors: newLRU[string, []float32](max(maxEntries, 1), nil), inflight: make(map[string]*embedCall)}
}

// Embed returns the remembered vector of text, or asks the wrapped embedder.
// Failures are not remembered. Every caller waits at most until its own
// context ends. The returned slice is shared: do not modify it.
func (c *EmbeddingCache) Embed(ctx context.Context, text string) ([]float32, error) {
	c.mu.Lock()
	if v, ok := c.vectors.get(text); ok {
		c.mu.Unlock()
		return v, nil
	}
	call, ok := c.inflight[text]
	if !ok {
		call = &embedCall{done: make(chan struct{})}
		c.inflight[text] = call
		// The shared call must not die with the first caller's request; the
		// embedder's own timeout bounds it.
		go c.run(context.WithoutCancel(ctx), text, call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.vec, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run makes one shared call; a panic in the embedder becomes its error, so
// waiting callers are always released.
func (c *EmbeddingCache) run(ctx context.Context, text string, call *embedCall) {
	defer func() {
		if r := recover(); r != nil {
			call.vec, call.err = nil, fmt.Errorf("embeddings: panic: %v", r)
		}
		c.mu.Lock()
		delete(c.inflight, text)
		if call.err == nil {
			c.vectors.put(text, call.vec)
		}
		c.mu.Unlock()
		close(call.done)
	}()
	call.vec, call.err = c.next.Embed(ctx, text)
}

// Fits reports whether the wrapped embedder reads all of text.
func (c *EmbeddingCache) Fits(text string) bool {
	l, ok := c.next.(InputLimiter)
	return !ok || l.Fits(text)
}
