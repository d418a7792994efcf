package semantic

import (
	"context"
	"fmt"
)

// The replay protocol (EvalOptions.Replay): each miss is stored, as a
// cache stores a miss's completion, so a query may be served an earlier
// query's entry.

// replayStore is what a cache holds at one threshold during a replay: the
// stored texts and the queries that were not served so far.
type replayStore struct {
	row      EvalRow
	verifier Verifier
	exact    map[string]int // text -> item (EvalSet.Text's index)
	held     []bool         // by query: stored
	traces   []EvalTrace
}

// replay is Evaluate with o.Replay. The queries are asked in order, each
// at every threshold against that threshold's own store, so each query is
// embedded and ranked against the texts before it once, whatever the
// number of thresholds.
func replay(ctx context.Context, emb Embedder, s EvalSet, o EvalOptions) ([]EvalRow, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	n := len(s.Stored)
	items := replayItems{vs: newEvalVectors(emb), n: n}
	var err error
	if items.vectors, err = items.vs.stored(ctx, s.Stored, n+len(s.Queries)); err != nil {
		return nil, err
	}
	stores := make([]replayStore, len(o.Thresholds))
	for ti, th := range o.Thresholds {
		stores[ti] = replayStore{row: EvalRow{Threshold: th}, exact: s.exactLayer(), held: make([]bool, len(s.Queries))}
		if o.Verifier != nil {
			stores[ti].verifier = o.Verifier(th)
		}
	}
	for qi, q := range s.Queries {
		var ranked []EvalCandidate // every earlier embedded item, nearest first
		rankedOnce := false
		for ti := range stores {
			st := &stores[ti]
			cands, exact := st.exactCandidate(q.Text)
			if !exact {
				if !rankedOnce {
					if ranked, err = items.rank(ctx, qi, q.Text); err != nil {
						return nil, err
					}
					rankedOnce = true
				}
				cands = st.nearest(ranked, n)
			}
			served, read := serve(s, q, cands, st.row.Threshold, st.verifier)
			st.row.Score(q, s.Answer(served))
			if served < 0 {
				st.held[qi] = true
				st.exact[q.Text] = n + qi
			}
			if o.Trace != nil {
				st.traces = append(st.traces, EvalTrace{Threshold: st.row.Threshold, Query: q, Served: served, Candidates: cands, Read: read})
			}
		}
	}
	rows := make([]EvalRow, len(stores))
	for ti, st := range stores {
		rows[ti] = st.row
		for _, t := range st.traces {
			o.Trace(t)
		}
	}
	return rows, nil
}

// replayItems is the vectors of what a replay may store: the n stored
// texts, then each query once it is ranked (nil: not embedded).
type replayItems struct {
	vs      *evalVectors
	vectors [][]float32
	n       int
}

// rank embeds query qi and ranks every item before it by distance; none
// when the embedder cannot read the query whole.
func (it *replayItems) rank(ctx context.Context, qi int, text string) ([]EvalCandidate, error) {
	v, err := it.vs.of(ctx, text)
	if err != nil || v == nil {
		return nil, err
	}
	it.vectors[it.n+qi] = v
	ranked, err := rank(v, it.vectors[:it.n+qi])
	if err != nil {
		return nil, fmt.Errorf("evaluate: query %d: %w", qi, err)
	}
	return ranked, nil
}

// exactCandidate is the exact layer's candidate for text, if the store
// holds that text.
func (st *replayStore) exactCandidate(text string) ([]EvalCandidate, bool) {
	i, ok := st.exact[text]
	if !ok {
		return nil, false
	}
	return []EvalCandidate{{i, 0, true}}, true
}

// nearest is the first few of ranked (items of a set of n stored texts)
// that this store holds: what its vector search returns.
func (st *replayStore) nearest(ranked []EvalCandidate, n int) []EvalCandidate {
	var out []EvalCandidate
	for _, c := range ranked {
		if len(out) == candidates {
			break
		}
		if c.Index < n || st.held[c.Index-n] {
			out = append(out, c)
		}
	}
	return out
}
