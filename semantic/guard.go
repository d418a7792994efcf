package semantic

import (
	"context"
	"fmt"
	"math"
)

// probeText is what a breaker's probe embeds.
const probeText = "semproc health probe"

// GuardedEmbedderOptions configure a GuardedEmbedder.
type GuardedEmbedderOptions struct {
	Next Embedder
	// Dimensions checks (and learns) the size of every healthy vector.
	Dimensions *Dimensions
	// Breaker is built for the embedder; its Probe is set by
	// NewGuardedEmbedder.
	Breaker BreakerOptions
}

// GuardedEmbedder is the embeddings dependency behind a circuit breaker.
// Every answer is checked before anyone sees it: a vector with no direction
// or of the wrong size is an error (never cached, counted as a failure like
// an error or a timeout).
type GuardedEmbedder struct {
	next    Embedder
	dims    *Dimensions
	breaker *Breaker
}

var (
	_ Embedder     = (*GuardedEmbedder)(nil)
	_ InputLimiter = (*GuardedEmbedder)(nil)
)

// NewGuardedEmbedder checks the options and returns a GuardedEmbedder.
func NewGuardedEmbedder(o GuardedEmbedderOptions) (*GuardedEmbedder, error) {
	if o.Next == nil || o.Dimensions == nil {
		return nil, fmt.Errorf("guarded embedder: an embedder and dimensions are required")
	}
	g := &GuardedEmbedder{next: o.Next, dims: o.Dimensions}
	o.Breaker.Probe = func(ctx context.Context) error {
		_, err := g.checked(ctx, probeText)
		return err
	}
	b, err := NewBreaker(o.Breaker)
	if err != nil {
		return nil, err
	}
	g.breaker = b
	return g, nil
}

// Embed asks the wrapped embedder unless the breaker is open.
func (g *GuardedEmbedder) Embed(ctx context.Context, text string) (vec []float32, err error) {
	err = g.breaker.Do(ctx, func(ctx context.Context) error {
		vec, err = g.checked(ctx, text)
		return err
	})
	return vec, err
}

func (g *GuardedEmbedder) checked(ctx context.Context, text string) ([]float32, error) {
	vec, err := g.next.Embed(ctx, text)
	if err != nil {
		return nil, err
	}
	if !hasDirection(vec) {
		return nil, ErrDegenerate
	}
	if err := g.dims.Check(len(vec)); err != nil {
		return nil, err
	}
	return vec, nil
}

// Fits passes the wrapped embedder's input limit through.
func (g *GuardedEmbedder) Fits(text string) bool {
	l, ok := g.next.(InputLimiter)
	return !ok || l.Fits(text)
}

// State is the breaker's state, for /readyz.
func (g *GuardedEmbedder) State() BreakerState { return g.breaker.State() }

func hasDirection(v []float32) bool {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	return sum > 0 && !math.IsNaN(sum) && !math.IsInf(sum, 0)
}

// GuardedStore is the vector store behind a circuit breaker: a store that
// is down or hanging costs requests nothing once the breaker opened.
type GuardedStore struct {
	next    VectorStore
	breaker *Breaker
}

var _ VectorStore = (*GuardedStore)(nil)

// NewGuardedStore wraps next; the breaker's probe is an exact lookup of an
// entry that does not exist.
func NewGuardedStore(next VectorStore, o BreakerOptions) (*GuardedStore, error) {
	o.Probe = func(ctx context.Context) error {
		p := Partition{Model: hashHex(""), API: hashHex(""), Scope: hashHex(""), Fingerprint: hashHex("")}
		_, err := next.Get(ctx, p, hashHex(probeText))
		return err
	}
	b, err := NewBreaker(o)
	if err != nil {
		return nil, err
	}
	return &GuardedStore{next: next, breaker: b}, nil
}

// Get looks an entry up unless the breaker is open.
func (s *GuardedStore) Get(ctx context.Context, p Partition, id string) (m *Match, err error) {
	err = s.breaker.Do(ctx, func(ctx context.Context) error {
		m, err = s.next.Get(ctx, p, id)
		return err
	})
	return m, err
}

// Search searches unless the breaker is open.
func (s *GuardedStore) Search(ctx context.Context, q Query) (ms []Match, err error) {
	err = s.breaker.Do(ctx, func(ctx context.Context) error {
		ms, err = s.next.Search(ctx, q)
		return err
	})
	return ms, err
}

// Put stores unless the breaker is open.
func (s *GuardedStore) Put(ctx context.Context, e Entry) error {
	return s.breaker.Do(ctx, func(ctx context.Context) error { return s.next.Put(ctx, e) })
}

// State is the breaker's state, for /readyz.
func (s *GuardedStore) State() BreakerState { return s.breaker.State() }
