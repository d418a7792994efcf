package semantic

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
)

// EmbeddingCacheOptions configure an EmbeddingCache.
type EmbeddingCacheOptions struct {
	Next Embedder
	// MaxEntries and MaxBytes bound the cache; the least recently used
	// vector goes first. Bytes count keys, vectors and bookkeeping.
	MaxEntries int
	MaxBytes   int
}

// embedEntryOverhead is the bookkeeping of one cached vector (list element,
// map slot, slice header), counted against MaxBytes.
const embedEntryOverhead = 128

// EmbeddingCache remembers the vectors of recent texts, so the same text is
// not embedded twice while it is remembered, and concurrent calls for the
// same text share one call. It is keyed per tenant scope (WithEmbedScope):
// one tenant's prompt being cached must not make another tenant's identical
// prompt measurably faster, which would reveal what others asked. Keys are
// hashes, so no prompt is kept in memory. Only healthy vectors are
// remembered: failures never are.
type EmbeddingCache struct {
	o        EmbeddingCacheOptions
	mu       sync.Mutex
	vectors  *lru[embedKey, []float32]
	bytes    int
	inflight map[embedKey]*embedCall
	// index holds the remembered vectors by key, written under mu, read
	// without it; used the keys it served since mu was last held (see uses).
	index sync.Map
	used  uses[embedKey]
}

type embedKey [sha256.Size]byte

type embedCall struct {
	done    chan struct{}
	vec     []float32
	err     error
	waiters int
	cancel  context.CancelCauseFunc
}

var (
	_ Embedder     = (*EmbeddingCache)(nil)
	_ InputLimiter = (*EmbeddingCache)(nil)
)

// NewEmbeddingCache checks the options and returns an EmbeddingCache.
func NewEmbeddingCache(o EmbeddingCacheOptions) (*EmbeddingCache, error) {
	var errs []error
	if o.Next == nil {
		errs = append(errs, errors.New("embedding cache: an embedder is required"))
	}
	if o.MaxEntries < 1 || o.MaxBytes < 1 {
		errs = append(errs, fmt.Errorf("embedding cache: bounds %d entries, %d bytes must be positive", o.MaxEntries, o.MaxBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := &EmbeddingCache{o: o, inflight: make(map[embedKey]*embedCall), used: newUses[embedKey]()}
	c.vectors = newLRU(o.MaxEntries, func(k embedKey, v []float32) {
		c.bytes -= embedEntrySize(v)
		c.index.Delete(k)
	})
	return c, nil
}

// requestEmbeds is one request's view of the cache: its tenant scope, and
// what it already asked, so routing and the cache lookup of one request
// make one embeddings call even when it fails.
type requestEmbeds struct {
	scope  string
	cached bool
	mu     sync.Mutex
	seen   map[string]embedResult
}

type embedResult struct {
	vec []float32
	err error
}

type requestEmbedsKey struct{}

// WithEmbedScope marks ctx as one request's, of tenant scope. Its texts
// are cached under that scope only, or, when cached is false (a request
// with no credentials), not cached across requests at all. Within the
// request, each text is embedded at most once, failure included.
func WithEmbedScope(ctx context.Context, scope string, cached bool) context.Context {
	return context.WithValue(ctx, requestEmbedsKey{}, &requestEmbeds{scope: scope, cached: cached, seen: map[string]embedResult{}})
}

// Embed returns the remembered vector of text, or asks the wrapped embedder.
// Every caller waits at most until its own context ends; the call itself
// is cancelled once no caller waits for it. The returned slice is shared:
// do not modify it.
func (c *EmbeddingCache) Embed(ctx context.Context, text string) ([]float32, error) {
	r, _ := ctx.Value(requestEmbedsKey{}).(*requestEmbeds)
	if r == nil {
		return c.embed(ctx, "", text)
	}
	r.mu.Lock()
	defer r.mu.Unlock() // one request's calls are sequential anyway
	if res, ok := r.seen[text]; ok {
		return res.vec, res.err
	}
	var res embedResult
	if r.cached {
		res.vec, res.err = c.embed(ctx, r.scope, text)
	} else {
		res.vec, res.err = c.o.Next.Embed(ctx, text)
	}
	r.seen[text] = res
	return res.vec, res.err
}

func (c *EmbeddingCache) embed(ctx context.Context, scope, text string) ([]float32, error) {
	key := keyOf(scope, text)
	if v, ok := c.index.Load(key); ok {
		c.used.add(key, &c.mu, c.use)
		return v.([]float32), nil
	}
	c.mu.Lock()
	if v, ok := c.vectors.get(key); ok { // stored since the index was read
		c.mu.Unlock()
		return v, nil
	}
	call, ok := c.inflight[key]
	if !ok {
		// The shared call outlives the caller that started it, but not
		// the last caller waiting for it.
		callCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
		call = &embedCall{done: make(chan struct{}), cancel: cancel}
		c.inflight[key] = call
		go c.run(callCtx, key, text, call)
	}
	call.waiters++
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.vec, call.err
	case <-ctx.Done():
		c.mu.Lock()
		call.waiters--
		if call.waiters == 0 && c.inflight[key] == call {
			delete(c.inflight, key)
			call.cancel(ctx.Err())
		}
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// run makes one shared call; a panic in the embedder becomes its error, so
// waiting callers are always released.
func (c *EmbeddingCache) run(ctx context.Context, key embedKey, text string, call *embedCall) {
	defer func() {
		if r := recover(); r != nil {
			call.vec, call.err = nil, fmt.Errorf("embeddings: panic: %v", r)
		}
		call.cancel(context.Canceled)
		c.mu.Lock()
		if c.inflight[key] == call {
			delete(c.inflight, key)
		}
		if call.err == nil && hasDirection(call.vec) {
			c.put(key, call.vec)
		}
		c.mu.Unlock()
		close(call.done)
	}()
	call.vec, call.err = c.o.Next.Embed(ctx, text)
}

// use moves key to the front of the LRU order, under mu.
func (c *EmbeddingCache) use(key embedKey) { c.vectors.get(key) }

// put remembers a vector within both bounds; one larger than MaxBytes is
// not remembered.
func (c *EmbeddingCache) put(key embedKey, vec []float32) {
	size := embedEntrySize(vec)
	if size > c.o.MaxBytes {
		return
	}
	c.used.drain(c.use) // before anything is evicted
	c.vectors.delete(key)
	c.vectors.put(key, vec)
	c.index.Store(key, vec)
	c.bytes += size
	for c.bytes > c.o.MaxBytes {
		c.vectors.remove(c.vectors.order.Back())
	}
}

// Purge forgets every vector: after the embeddings' size changed, none of
// the remembered ones can be compared with new ones.
func (c *EmbeddingCache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.vectors.len() > 0 {
		c.vectors.remove(c.vectors.order.Back())
	}
}

// Stats reports the entries and bytes held.
func (c *EmbeddingCache) Stats() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vectors.len(), c.bytes
}

// Fits reports whether the wrapped embedder reads all of text.
func (c *EmbeddingCache) Fits(text string) bool {
	l, ok := c.o.Next.(InputLimiter)
	return !ok || l.Fits(text)
}

func keyOf(scope, text string) embedKey {
	var buf [512]byte
	return sha256.Sum256(append(appendField(buf[:0], scope), text...))
}

func embedEntrySize(v []float32) int { return sha256.Size + 4*len(v) + embedEntryOverhead }
