package semantic

import (
	"context"
	"fmt"
	"math"
)

// The threshold-evaluation protocol: given texts to store and queries that
// know which stored text (if any) should answer them, measure what a cache
// would serve at each distance threshold. It is how the per-embedder
// default thresholds are chosen.

// EvalQuery is a query and the index in EvalSet.Stored of the text that
// should answer it, or -1 when none should (a negative).
type EvalQuery struct {
	Text string
	Want int
}

// EvalSet is what an evaluation stores and what it asks.
type EvalSet struct {
	Stored  []string
	Queries []EvalQuery
}

// EvalRow is the outcome at one threshold (a cosine distance, 1 − cosine
// similarity). Among positives a query is Correct when the entry served is
// the one it wants, Wrong when another is served, Missed when none is;
// among negatives any entry served is a FalseHit.
type EvalRow struct {
	Threshold              float64
	Correct, Wrong, Missed int
	FalseHits              int
	Positives, Negatives   int
}

// Score counts one query to which the stored text of index served was
// served (-1: none was).
func (r *EvalRow) Score(q EvalQuery, served int) {
	switch {
	case q.Want < 0 && served >= 0:
		r.FalseHits++
	case q.Want < 0:
	case served < 0:
		r.Missed++
	case served == q.Want:
		r.Correct++
	default:
		r.Wrong++
	}
	if q.Want < 0 {
		r.Negatives++
	} else {
		r.Positives++
	}
}

// FalseHitRate is the share of negatives that were served an answer.
func (r EvalRow) FalseHitRate() float64 {
	if r.Negatives == 0 {
		return 0
	}
	return float64(r.FalseHits) / float64(r.Negatives)
}

// CorrectRate is the share of positives answered correctly.
func (r EvalRow) CorrectRate() float64 {
	if r.Positives == 0 {
		return 0
	}
	return float64(r.Correct) / float64(r.Positives)
}

// BadShare is the share of all hits that served a wrong answer (wrong hits
// and false hits): what a user of the cache sees go wrong.
func (r EvalRow) BadShare() float64 {
	hits := r.Correct + r.Wrong + r.FalseHits
	if hits == 0 {
		return 0
	}
	return float64(r.Wrong+r.FalseHits) / float64(hits)
}

// EvalOptions says what Evaluate measures.
type EvalOptions struct {
	Thresholds []float64
	// Verifier makes the verifier a cache would use at a threshold; nil
	// measures distance alone (the nearest entry within the threshold is
	// served).
	Verifier func(threshold float64) Verifier
	// Trace, when set, is told how each query was served at each
	// threshold, with the verifier's verdict on every candidate it read:
	// threshold by threshold, each query in order.
	Trace func(EvalTrace)
	// Replay stores each query that was not served, as a cache stores a
	// miss's completion, so that later queries may be served it: at each
	// threshold the store starts as EvalSet.Stored and grows with that
	// threshold's misses (a text the embedder cannot read whole for the
	// exact layer only). A served stored query stands for the answer its
	// query wanted (EvalSet.Answer): a positive is Correct when that is
	// the one it wants, Wrong otherwise; a stored negative stands for an
	// answer no query wants, and any hit of a negative is a FalseHit.
	// The labelled sets do not say whether two near-misses of one stored
	// text ask the same thing, so a near-miss served an earlier near-miss
	// of the same meaning counts as a false hit: in that respect the
	// figures are a worst case. Indices past len(EvalSet.Stored) in
	// EvalTrace and EvalCandidate name queries (EvalSet.Text).
	Replay bool
}

// EvalTrace is how one query was served at one threshold: the item served
// (-1: none; an index in EvalSet.Stored or, with Replay, past them an
// earlier query: see EvalSet.Text and EvalSet.Answer), the candidates a
// cache looks at (Nearest's), and, nearest first, the verdict on each
// candidate within the threshold the verifier read before it stopped.
type EvalTrace struct {
	Threshold  float64
	Query      EvalQuery
	Served     int
	Candidates []EvalCandidate
	Read       []EvalVerdict
}

// EvalVerdict is a verifier's verdict on serving one candidate.
type EvalVerdict struct {
	EvalCandidate
	Verdict Verdict
}

// Evaluate embeds every distinct text of s once and, at each threshold,
// serves each query as the cache would: a stored text identical to it
// (the exact layer), else the nearest few stored texts within the
// threshold, nearest first, the first one the verifier accepts (the first
// on a tie). As in the cache, a text the embedder cannot read whole is
// served and found by the exact layer only.
func Evaluate(ctx context.Context, emb Embedder, s EvalSet, o EvalOptions) ([]EvalRow, error) {
	if o.Replay {
		return replay(ctx, emb, s, o)
	}
	found, err := Nearest(ctx, emb, s)
	if err != nil {
		return nil, err
	}
	rows := make([]EvalRow, len(o.Thresholds))
	for ti, th := range o.Thresholds {
		var v Verifier
		if o.Verifier != nil {
			v = o.Verifier(th)
		}
		r := EvalRow{Threshold: th}
		for qi, q := range s.Queries {
			served, read := serve(s, q, found[qi], th, v)
			r.Score(q, served)
			if o.Trace != nil {
				o.Trace(EvalTrace{Threshold: th, Query: q, Served: served, Candidates: found[qi], Read: read})
			}
		}
		rows[ti] = r
	}
	return rows, nil
}

// EvalCandidate is a stored text a cache looks at for a query: the exact
// layer's (served without the verifier), or one of the nearest few.
type EvalCandidate struct {
	Index    int // in EvalSet.Stored; with Replay, past them a query (EvalSet.Text)
	Distance float64
	Exact    bool
}

// Nearest embeds every distinct text of s once and lists, for each query,
// what a cache looks at: the stored text identical to it (Exact), else the
// nearest few stored texts, nearest first, at any distance; none for a
// query the embedder cannot read whole.
func Nearest(ctx context.Context, emb Embedder, s EvalSet) ([][]EvalCandidate, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	vs := newEvalVectors(emb)
	stored, err := vs.stored(ctx, s.Stored, len(s.Stored))
	if err != nil {
		return nil, err
	}
	exact := s.exactLayer()
	found := make([][]EvalCandidate, len(s.Queries))
	for qi, q := range s.Queries {
		if i, ok := exact[q.Text]; ok {
			found[qi] = []EvalCandidate{{i, 0, true}}
			continue
		}
		v, err := vs.of(ctx, q.Text)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue // the exact layer's only
		}
		all, err := rank(v, stored)
		if err != nil {
			return nil, fmt.Errorf("evaluate: query %d: %w", qi, err)
		}
		found[qi] = all[:min(candidates, len(all))]
	}
	return found, nil
}

// serve is the item (EvalSet.Text) a cache serves to q, or -1, and the
// verdicts of the candidates it read on the way.
func serve(s EvalSet, q EvalQuery, cands []EvalCandidate, th float64, v Verifier) (int, []EvalVerdict) {
	var read []EvalVerdict
	neighbours := Neighbours(cands, th)
	differs := false
	for _, c := range cands {
		if c.Exact {
			return c.Index, append(read, EvalVerdict{c, Verdict{Accept: true, Reason: "exact match"}})
		}
		if c.Distance > th {
			break
		}
		verdict := Verdict{Accept: true, Reason: "nearest within the threshold"}
		if v != nil {
			verdict = v.Verify(Pair{Query: q.Text, Stored: s.Text(c.Index), Distance: c.Distance, Neighbours: neighbours, NearerDiffers: differs})
			differs = differs || verdict.Differs
		}
		read = append(read, EvalVerdict{c, verdict})
		if verdict.Accept {
			return c.Index, read
		}
	}
	return -1, read
}

// Neighbours is Pair.Neighbours for the candidates Nearest found for a
// query: as in the cache, where the search returns the entries within
// the threshold, the others within it.
func Neighbours(cands []EvalCandidate, threshold float64) int {
	n := 0
	for _, c := range cands {
		if c.Distance <= threshold {
			n++
		}
	}
	return max(n-1, 0)
}

// Distance is the cosine distance of two vectors (1 − cosine similarity).
func Distance(a, b []float32) (float64, error) { return cosineDistance(a, b) }

func cosineDistance(a, b []float32) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("%w: %d and %d", ErrDimension, len(a), len(b))
	}
	var ab, aa, bb float64
	for k := range a {
		ab += float64(a[k]) * float64(b[k])
		aa += float64(a[k]) * float64(a[k])
		bb += float64(b[k]) * float64(b[k])
	}
	if aa == 0 || bb == 0 {
		return 1, nil
	}
	return 1 - ab/math.Sqrt(aa*bb), nil
}

// Recommend picks the threshold to ship: among the rows whose share of
// wrong answers among hits is at most maxBadShare, the one with the most
// correct hits, and of those the lowest threshold. ok is false when no row
// qualifies.
func Recommend(rows []EvalRow, maxBadShare float64) (best EvalRow, ok bool) {
	for _, r := range rows {
		if r.BadShare() > maxBadShare {
			continue
		}
		if !ok || r.Correct > best.Correct || (r.Correct == best.Correct && r.Threshold < best.Threshold) {
			best, ok = r, true
		}
	}
	return best, ok
}

// Thresholds lists from, from+step, … up to to (inclusive), rounded to
// 1e-9 so that the values print as they read.
func Thresholds(from, to, step float64) []float64 {
	var out []float64
	if step <= 0 {
		return out
	}
	for k := 0; ; k++ {
		v := math.Round((from+float64(k)*step)*1e9) / 1e9
		if v > to+1e-12 {
			return out
		}
		out = append(out, v)
	}
}
