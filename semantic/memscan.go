package semantic

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semproc/semproc/semantic/vecmath"
)

// A partition keeps its entries' codes in blocks of up to blockRows rows,
// struct of arrays: the sign codes back to back, the int8 codes back to
// back, then each row's quantisation figures and record. Rows are only ever appended to the last block, and
// published by storing the block's row count after they are written, so a
// scan reads a block's first n rows with no lock. An entry that leaves is
// only marked dead; a full block half dead is copied without its dead rows
// and the copy swapped in, so a scan that holds the old block still reads
// consistent rows.
const (
	blockRows    = 256
	minBlockRows = 8
)

type partition struct {
	dims, stride, words int
	rot                 *vecmath.Rotation
	cores               cores
	blocks              atomic.Pointer[[]*block]
	live                int // rows not dead, under Memory.mu
}

type block struct {
	signs []uint64
	codes []int8
	quant []vecmath.Quantized
	recs  []*record
	n     atomic.Int32 // rows published
	// Under Memory.mu: rows marked dead, and whether rows may be appended.
	dead   int
	sealed bool
}

func (p *partition) newBlock(rows int) *block {
	return &block{
		signs: make([]uint64, rows*p.words), codes: make([]int8, rows*p.stride),
		quant: make([]vecmath.Quantized, rows), recs: make([]*record, rows),
	}
}

// codes is what Put computes for a vector before it takes the lock.
type codes struct {
	signs []uint64
	int8  []int8
	quant vecmath.Quantized
}

func (p *partition) view() []*block {
	if bs := p.blocks.Load(); bs != nil {
		return *bs
	}
	return nil
}

// add appends rec's codes, under Memory.mu.
func (p *partition) add(rec *record, c codes) {
	bs := p.view()
	var b *block
	if len(bs) > 0 {
		b = bs[len(bs)-1]
	}
	if b == nil || b.sealed {
		// Blocks grow with the partition, so the many small partitions of
		// a store with many tenants and fingerprints stay small.
		b = p.newBlock(min(blockRows, max(minBlockRows, p.live)))
		grown := append(slices.Clip(bs), b) // a new slice: scans keep theirs
		p.blocks.Store(&grown)
	}
	row := int(b.n.Load())
	copy(b.signs[row*p.words:], c.signs)
	copy(b.codes[row*p.stride:], c.int8)
	b.quant[row], b.recs[row] = c.quant, rec
	rec.part, rec.blk, rec.row = p, b, row
	b.n.Store(int32(row + 1))
	b.sealed = row+1 == len(b.recs)
	p.live++
}

// remove accounts for rec, already marked dead, under Memory.mu.
func (p *partition) remove(rec *record) {
	p.live--
	b := rec.blk
	b.dead++
	if b.sealed && 2*b.dead >= int(b.n.Load()) {
		p.compact(b)
	}
}

// compact swaps b for a copy of its live rows, or drops it when none is.
func (p *partition) compact(b *block) {
	n := int(b.n.Load())
	bs := slices.Clone(p.view())
	i := slices.Index(bs, b)
	if keep := n - b.dead; keep > 0 {
		c := p.newBlock(keep)
		j := 0
		for r, rec := range b.recs[:n] {
			if rec.dead.Load() {
				continue
			}
			copy(c.signs[j*p.words:(j+1)*p.words], b.signs[r*p.words:(r+1)*p.words])
			copy(c.codes[j*p.stride:(j+1)*p.stride], b.codes[r*p.stride:(r+1)*p.stride])
			c.quant[j], c.recs[j] = b.quant[r], rec
			rec.blk, rec.row = c, j
			j++
		}
		c.n.Store(int32(j))
		c.sealed = true
		bs[i] = c
	} else {
		bs = slices.Delete(bs, i, i+1)
	}
	p.blocks.Store(&bs)
}

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
