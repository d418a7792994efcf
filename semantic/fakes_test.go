package semantic

import (
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
)

// wordEmbedder is a deterministic bag-of-words embedder: texts sharing words
// are close, texts sharing none are orthogonal.
type wordEmbedder struct {
	calls atomic.Int64
	err   error
	limit int // words read; 0 = all
}

var _ Embedder = (*wordEmbedder)(nil)

const wordDims = 64

func (w *wordEmbedder) Embed(_ context.Context, text string) ([]float32, error) {
	w.calls.Add(1)
	if w.err != nil {
		return nil, w.err
	}
	v := make([]float32, wordDims)
	for i, word := range strings.Fields(strings.ToLower(text)) {
		if w.limit > 0 && i >= w.limit {
			break
		}
		h := fnv.New32a()
		h.Write([]byte(strings.Trim(word, "?.!,")))
		v[h.Sum32()%wordDims]++
	}
	return v, nil
}

// limitedEmbedder reads only the first few words, as the local model reads
// only 128 tokens.
type limitedEmbedder struct{ wordEmbedder }

var _ InputLimiter = (*limitedEmbedder)(nil)

func (l *limitedEmbedder) Fits(text string) bool { return len(strings.Fields(text)) <= l.limit }

// failingStore fails every call, as an unreachable Redis does.
type failingStore struct{}

var _ VectorStore = failingStore{}

var errStoreDown = errors.New("store down")

func (failingStore) Get(context.Context, Partition, string) (*Match, error) { return nil, errStoreDown }
func (failingStore) Search(context.Context, Query) ([]Match, error)         { return nil, errStoreDown }
func (failingStore) Put(context.Context, Entry) error                       { return errStoreDown }

// blockingEmbedder blocks until released, counting calls.
type blockingEmbedder struct {
	mu      sync.Mutex
	calls   int
	release chan struct{}
}

func (b *blockingEmbedder) Embed(ctx context.Context, _ string) ([]float32, error) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	<-b.release
	return []float32{1, 0}, nil
}

// EmbedderFunc adapts a function to Embedder.
type EmbedderFunc func(context.Context, string) ([]float32, error)

func (f EmbedderFunc) Embed(ctx context.Context, s string) ([]float32, error) { return f(ctx, s) }
