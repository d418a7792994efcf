package semantic

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Embedding and ranking for the evaluations: each distinct text is
// embedded once, and the nearest are found by brute force.

// evalVectors embeds each distinct text of an evaluation once.
type evalVectors struct {
	emb  Embedder
	seen map[string][]float32
}

func newEvalVectors(emb Embedder) *evalVectors {
	return &evalVectors{emb: emb, seen: map[string][]float32{}}
}

// of is the vector of text, or nil when the embedder cannot read it whole:
// as in the cache, such a text is found and served by the exact layer only.
func (e *evalVectors) of(ctx context.Context, text string) ([]float32, error) {
	if l, ok := e.emb.(InputLimiter); ok && !l.Fits(text) {
		return nil, nil
	}
	if v, ok := e.seen[text]; ok {
		return v, nil
	}
	v, err := e.emb.Embed(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("evaluate: embed %.40q: %w", text, err)
	}
	e.seen[text] = v
	return v, nil
}

// stored is the vectors of the stored texts, at their indices, in a slice
// of length n (n ≥ len(texts)) that leaves room for more.
func (e *evalVectors) stored(ctx context.Context, texts []string, n int) ([][]float32, error) {
	out := make([][]float32, n)
	for i, text := range texts {
		v, err := e.of(ctx, text)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// rank lists the vectors of store (nil: not embedded, skipped) by distance
// from v, nearest first, the lower index first on a tie; Index is the
// position in store.
func rank(v []float32, store [][]float32) ([]EvalCandidate, error) {
	all := make([]EvalCandidate, 0, len(store))
	for i, sv := range store {
		if sv == nil {
			continue
		}
		d, err := cosineDistance(v, sv)
		if err != nil {
			return nil, err
		}
		all = append(all, EvalCandidate{Index: i, Distance: d})
	}
	slices.SortStableFunc(all, func(a, b EvalCandidate) int { return cmp.Compare(a.Distance, b.Distance) })
	return all, nil
}
