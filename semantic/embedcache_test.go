package semantic

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func newTestEmbeddingCache(t *testing.T, next Embedder, entries, bytes int) *EmbeddingCache {
	t.Helper()
	c, err := NewEmbeddingCache(EmbeddingCacheOptions{Next: next, MaxEntries: entries, MaxBytes: bytes})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmbeddingCacheSharesCalls(t *testing.T) {
	ctx := context.Background()
	emb := &wordEmbedder{}
	c := newTestEmbeddingCache(t, emb, 2, 1<<20)
	for range 3 {
		if _, err := c.Embed(ctx, "hello"); err != nil {
			t.Fatal(err)
		}
	}
	if n := emb.calls.Load(); n != 1 {
		t.Errorf("3 embeds of one text made %d calls", n)
	}
	_, _ = c.Embed(ctx, "b")
	_, _ = c.Embed(ctx, "c") // evicts hello
	_, _ = c.Embed(ctx, "hello")
	if n := emb.calls.Load(); n != 4 {
		t.Errorf("after eviction: %d calls, want 4", n)
	}

	blocking := &blockingEmbedder{release: make(chan struct{})}
	bc := newTestEmbeddingCache(t, blocking, 10, 1<<20)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = bc.Embed(ctx, "same") }()
	}
	time.Sleep(20 * time.Millisecond) // let the callers pile up on one call
	close(blocking.release)
	wg.Wait()
	if blocking.calls != 1 {
		t.Errorf("concurrent embeds of one text made %d calls", blocking.calls)
	}
}

// TestEmbeddingCacheHitsOrderEviction checks that a remembered vector
// served counts as a use, also after more hits than the buffer of uses
// holds.
func TestEmbeddingCacheHitsOrderEviction(t *testing.T) {
	for _, hits := range []int{1, 3 * useBuffer} {
		ctx := context.Background()
		emb := &wordEmbedder{}
		c := newTestEmbeddingCache(t, emb, 2, 1<<20)
		_, _ = c.Embed(ctx, "a")
		_, _ = c.Embed(ctx, "b")
		for range hits - 1 {
			_, _ = c.Embed(ctx, "b")
		}
		_, _ = c.Embed(ctx, "a") // b is now the least recently used
		_, _ = c.Embed(ctx, "c")
		_, _ = c.Embed(ctx, "a")
		if n := emb.calls.Load(); n != 3 {
			t.Errorf("%d hits: %d calls, want 3 (a kept, b evicted)", hits, n)
		}
	}
}

func TestEmbeddingCacheBoundsBytes(t *testing.T) {
	ctx := context.Background()
	one := embedEntrySize(make([]float32, wordDims))
	c := newTestEmbeddingCache(t, &wordEmbedder{}, 1000, 3*one)
	for _, text := range []string{"a", "b", "c", "d", "e"} {
		if _, err := c.Embed(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	entries, bytes := c.Stats()
	if entries != 3 || bytes != 3*one {
		t.Errorf("after 5 texts under a 3-vector byte bound: %d entries, %d bytes; want 3, %d", entries, bytes, 3*one)
	}
	small := newTestEmbeddingCache(t, &wordEmbedder{}, 1000, one-1)
	_, _ = small.Embed(ctx, "too big")
	if entries, bytes := small.Stats(); entries != 0 || bytes != 0 {
		t.Errorf("a vector over the byte bound was kept: %d entries, %d bytes", entries, bytes)
	}
}

func TestEmbeddingCacheKeysPerScope(t *testing.T) {
	emb := &wordEmbedder{}
	c := newTestEmbeddingCache(t, emb, 100, 1<<20)
	embed := func(scope string, cached bool) {
		t.Helper()
		if _, err := c.Embed(WithEmbedScope(context.Background(), scope, cached), "the same prompt"); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		scope  string
		cached bool
		calls  int64
	}{
		{"tenant-a", true, 1},
		{"tenant-a", true, 1}, // remembered for tenant A
		{"tenant-b", true, 2}, // tenant B pays its own call: nothing is revealed
		{"tenant-b", true, 2},
		{"", false, 3}, // no credentials: never cached
		{"", false, 4},
	} {
		embed(step.scope, step.cached)
		if n := emb.calls.Load(); n != step.calls {
			t.Fatalf("after scope %q: %d calls, want %d", step.scope, n, step.calls)
		}
	}
}

func TestEmbeddingCacheOneCallPerRequestEvenWhenFailing(t *testing.T) {
	emb := &wordEmbedder{err: errStoreDown}
	c := newTestEmbeddingCache(t, emb, 10, 1<<20)
	for _, cached := range []bool{true, false} {
		emb.calls.Store(0)
		ctx := WithEmbedScope(context.Background(), "tenant", cached)
		_, err1 := c.Embed(ctx, "x") // routing
		_, err2 := c.Embed(ctx, "x") // cache lookup
		if err1 == nil || err2 == nil || emb.calls.Load() != 1 {
			t.Errorf("cached=%v: errors %v, %v; %d calls, want 1", cached, err1, err2, emb.calls.Load())
		}
		_, _ = c.Embed(WithEmbedScope(context.Background(), "tenant", cached), "x")
		if emb.calls.Load() != 2 {
			t.Errorf("cached=%v: the next request did not ask again (failures must not be remembered)", cached)
		}
	}
}

func TestEmbeddingCacheDoesNotRememberFailuresOrDegenerateVectors(t *testing.T) {
	for name, emb := range map[string]*countingFunc{
		"error":    {f: func() ([]float32, error) { return nil, errStoreDown }},
		"all zero": {f: func() ([]float32, error) { return make([]float32, 8), nil }},
	} {
		c := newTestEmbeddingCache(t, emb, 2, 1<<20)
		_, _ = c.Embed(context.Background(), "x")
		_, _ = c.Embed(context.Background(), "x")
		if emb.calls != 2 {
			t.Errorf("%s: %d calls, want 2 (not remembered)", name, emb.calls)
		}
		if entries, _ := c.Stats(); entries != 0 {
			t.Errorf("%s: %d entries kept", name, entries)
		}
	}
}

type countingFunc struct {
	mu    sync.Mutex
	calls int
	f     func() ([]float32, error)
}

func (c *countingFunc) Embed(context.Context, string) ([]float32, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.f()
}

func TestEmbeddingCacheHonoursEachCallersDeadline(t *testing.T) {
	blocking := &blockingEmbedder{release: make(chan struct{})}
	defer close(blocking.release)
	c := newTestEmbeddingCache(t, blocking, 10, 1<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Embed(ctx, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the first caller of a slow embedder got %v, want its own deadline", err)
	}
}

func TestEmbeddingCacheCancelsCallNobodyWaitsFor(t *testing.T) {
	cause := make(chan error, 1)
	c := newTestEmbeddingCache(t, EmbedderFunc(func(ctx context.Context, _ string) ([]float32, error) {
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return nil, ctx.Err()
	}), 10, 1<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _ = c.Embed(ctx, "slow")
	select {
	case err := <-cause:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the abandoned call was cancelled with %v, want the caller's deadline as its cause", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call ran on after its last caller left")
	}
}

func TestEmbeddingCachePanicReleasesWaiters(t *testing.T) {
	c := newTestEmbeddingCache(t, EmbedderFunc(func(context.Context, string) ([]float32, error) { panic("bug") }), 10, 1<<20)
	for range 2 { // the second call must not wait on a call that never ends
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.Embed(ctx, "x")
		cancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want the panic as an error", err)
		}
	}
}

func TestEmbeddingCachePurge(t *testing.T) {
	emb := &wordEmbedder{}
	c := newTestEmbeddingCache(t, emb, 10, 1<<20)
	_, _ = c.Embed(context.Background(), "x")
	c.Purge()
	_, _ = c.Embed(context.Background(), "x")
	if entries, bytes := c.Stats(); emb.calls.Load() != 2 || entries != 1 || bytes != embedEntrySize(make([]float32, wordDims)) {
		t.Errorf("after purge: %d calls, %d entries, %d bytes", emb.calls.Load(), entries, bytes)
	}
}
