package semantic

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/semproc/semproc/semantic/vecmath"
)

// found is a search result: an entry and its exact distance.
type found struct {
	rec  *record
	dist float64
}

// minBytesPerWorker is the scan work (in code bytes read) worth another
// goroutine: about a hundred microseconds.
const minBytesPerWorker = 1 << 20

// cores holds a token for each core (GOMAXPROCS) a store's scans may use
// at once. A search scans on as many goroutines as it can take tokens for,
// without waiting, and at least on its own: under many concurrent searches
// each scans alone, since a search split over several goroutines would wait
// for its slowest share, each queued behind every other runnable goroutine.
type cores chan struct{}

func newCores() cores { return make(cores, runtime.GOMAXPROCS(0)) }

// take takes up to n tokens without waiting and returns how many it took.
func (c cores) take(n int) int {
	for i := range n {
		select {
		case c <- struct{}{}:
		default:
			return i
		}
	}
	return n
}

func (c cores) give(n int) {
	for range n {
		<-c
	}
}

// signFilterRows is the partition size from which a search reads the sign
// codes first: below it the int8 codes are few enough to read them all, and
// rotating the query would cost more than it saves.
const signFilterRows = 2048

// search returns what an exact float32 scan of p would: the q.Limit()
// nearest usable entries within q.MaxDistance, nearest first. It also
// returns the expired entries it met, for the caller to drop.
//
// Each row's code dot product is within a known bound of the exact one
// (‖q‖·the row's residual + the query's residual·the row's code norm), so
// every row has a distance interval. A row is a candidate when its lower
// end is within the threshold and within the k-th smallest upper end seen
// so far; the candidates are rescored in float32 and the k nearest kept. A
// row of the exact top k always passes.
//
// In a large partition the sign codes (1 bit a dimension) come first: only
// rows whose Hamming distance to the query's code is within a wide margin
// (signMargin) of the threshold's and of the k-th nearest code's have their
// int8 codes read. That step is an estimate, so it is tested for recall
// against the exact scan; the margin keeps a row of the exact top k out
// only beyond six standard deviations of the estimate.
func (p *partition) search(ctx context.Context, q Query, now time.Time) ([]found, []*record, error) {
	blocks := p.view()
	s := scan{
		q: q, k: q.Limit(), now: now, stride: p.stride,
		codes: vecmath.QuantizeQuery(q.Vector, p.stride), qnorm: norm(q.Vector),
	}
	var rows int
	for _, b := range blocks {
		rows += int(b.n.Load())
	}
	rowBytes := p.stride
	if rows >= signFilterRows {
		s.words, s.signs = p.words, make([]uint64, p.words)
		p.rot.SignCode(s.signs, q.Vector)
		s.hmax = thresholdHamming(q.MaxDistance, p.dims)
		rowBytes = 8 * p.words
	}
	held := p.cores.take(min(cap(p.cores), max(rows*rowBytes/minBytesPerWorker, 1), len(blocks)))
	defer p.cores.give(held)
	scans := make([]scan, max(held, 1))
	var wg sync.WaitGroup
	for w := range scans {
		scans[w] = s
		part := blocks[w*len(blocks)/len(scans) : (w+1)*len(blocks)/len(scans)]
		if w == len(scans)-1 {
			scans[w].blocks(ctx, part) // the caller's goroutine takes a share
			break
		}
		wg.Go(func() { scans[w].blocks(ctx, part) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	var upper []float64
	var stale []*record
	for i := range scans {
		upper = append(upper, scans[i].upper...)
		stale = append(stale, scans[i].stale...)
	}
	limit := q.MaxDistance
	if len(upper) >= s.k {
		slices.Sort(upper)
		limit = min(limit, upper[s.k-1])
	}
	var out []found
	for i := range scans {
		for _, c := range scans[i].cands {
			if c.lower > limit {
				continue
			}
			if d := 1 - float64(vecmath.Dot(q.Vector, c.rec.e.Vector)); d <= q.MaxDistance {
				out = append(out, found{c.rec, d})
			}
		}
	}
	slices.SortFunc(out, func(a, b found) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.rec.e.ID, b.rec.e.ID))
	})
	return out[:min(len(out), s.k)], stale, nil
}

// boundSlack covers the float32 rounding of the exact rescoring and of the
// quantisation figures, far above either.
const boundSlack = 1e-4

// scan is one goroutine's share of a search.
type scan struct {
	q      Query
	k      int
	now    time.Time
	stride int
	codes  vecmath.QueryCodes
	qnorm  float64
	// With the sign filter: the query's sign code, its words, the Hamming
	// distance past which a row is beyond the threshold (margin included),
	// and the k smallest distances of the candidates seen, ascending.
	words    int
	signs    []uint64
	hmax     int32
	hammings []int32
	// upper holds the k smallest upper distance bounds of usable rows seen,
	// ascending; cands the rows whose lower bound passed when seen.
	upper []float64
	cands []candidate
	stale []*record
}

type candidate struct {
	rec   *record
	lower float64
}

func (s *scan) limit() float64 {
	if len(s.upper) < s.k {
		return s.q.MaxDistance
	}
	return min(s.q.MaxDistance, s.upper[s.k-1])
}

// signMargin is how many more bits than h a row of the exact top k may
// differ by from the query, where h is the Hamming distance of a row at
// least as near: six standard deviations of the difference of two
// distances each about Binomial(dims, h/dims), and a few bits more for
// small h.
func signMargin(h int32, dims int) int32 {
	p := min(float64(h)/float64(dims), 0.5)
	return int32(math.Ceil(6*math.Sqrt(2*float64(dims)*p*(1-p)))) + 8
}

// thresholdHamming is the Hamming distance past which a row lies beyond
// cosine distance maxDistance, margin included: two vectors at angle θ
// differ in dims·θ/π bits on average.
func thresholdHamming(maxDistance float64, dims int) int32 {
	theta := math.Acos(max(-1, min(1, 1-maxDistance)))
	h := int32(math.Ceil(float64(dims) * theta / math.Pi))
	return h + signMargin(h, dims)
}

// hlimit is the Hamming distance past which a row cannot be in the top k.
func (s *scan) hlimit(dims int) int32 {
	if len(s.hammings) < s.k {
		return s.hmax
	}
	h := s.hammings[s.k-1]
	return min(s.hmax, h+signMargin(h, dims))
}

func (s *scan) blocks(ctx context.Context, blocks []*block) {
	dots, dists := make([]int32, blockRows), make([]int32, blockRows)
	for _, b := range blocks {
		if ctx.Err() != nil {
			return
		}
		if s.signs != nil {
			s.filtered(b, dists)
		} else {
			s.block(b, dots)
		}
	}
}

// block reads every row's int8 codes.
func (s *scan) block(b *block, dots []int32) {
	n := int(b.n.Load())
	if n == 0 {
		return
	}
	vecmath.DotsInt8(b.codes, s.stride, s.codes.Codes, dots[:n])
	lim := s.limit()
	for i, d := range dots[:n] {
		if s.row(b, i, d, lim) {
			lim = s.limit()
		}
	}
}

// filtered reads every row's sign code, and the int8 codes of the rows
// whose Hamming distance passes.
func (s *scan) filtered(b *block, dists []int32) {
	n := int(b.n.Load())
	if n == 0 {
		return
	}
	dims := len(s.q.Vector)
	vecmath.Hamming(b.signs, s.words, s.signs, dists[:n])
	hlim, lim := s.hlimit(dims), s.limit()
	var dot [1]int32
	for i, h := range dists[:n] {
		if h > hlim {
			continue
		}
		vecmath.DotsInt8(b.codes[i*s.stride:], s.stride, s.codes.Codes, dot[:])
		if s.row(b, i, dot[0], lim) {
			s.hammings = insertSmallest(s.hammings, s.k, h)
			hlim, lim = s.hlimit(dims), s.limit()
		}
	}
}

// row bounds row i's distance from its code dot product d, and keeps it as
// a candidate when its lower bound is within lim and it is usable; it says
// whether it did.
func (s *scan) row(b *block, i int, d int32, lim float64) bool {
	qz := &b.quant[i]
	sim := float64(s.codes.Scale) * float64(qz.Scale) * float64(d)
	slack := s.qnorm*float64(qz.Residual) + float64(s.codes.Residual)*float64(qz.Norm) + boundSlack
	lower := 1 - sim - slack
	if lower > lim {
		return false
	}
	rec := b.recs[i]
	if !s.usable(rec) {
		return false
	}
	s.cands = append(s.cands, candidate{rec, lower})
	s.upper = insertSmallest(s.upper, s.k, 1-sim+slack)
	return true
}

func (s *scan) usable(rec *record) bool {
	switch {
	case rec.dead.Load():
		return false
	case expired(rec, s.now):
		s.stale = append(s.stale, rec)
		return false
	}
	return !rec.e.StoredAt.Before(s.q.NotBefore)
}

// insertSmallest inserts x into the ascending list of the k smallest
// values seen, xs.
func insertSmallest[T cmp.Ordered](xs []T, k int, x T) []T {
	if len(xs) == k && x >= xs[k-1] {
		return xs
	}
	i, _ := slices.BinarySearch(xs, x)
	if len(xs) == k {
		xs = xs[:k-1]
	}
	return slices.Insert(xs, i, x)
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
