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

// A partition keeps its entries' int8 codes in blocks of up to blockRows rows,
// struct of arrays: the codes back to back, then each row's quantisation
// figures and record. Rows are only ever appended to the last block, and
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
	dims, stride int
	blocks       atomic.Pointer[[]*block]
	live         int // rows not dead, under Memory.mu
}

type block struct {
	codes []int8
	quant []vecmath.Quantized
	recs  []*record
	n     atomic.Int32 // rows published
	// Under Memory.mu: rows marked dead, and whether rows may be appended.
	dead   int
	sealed bool
}

func newBlock(rows, stride int) *block {
	return &block{codes: make([]int8, rows*stride), quant: make([]vecmath.Quantized, rows), recs: make([]*record, rows)}
}

func (p *partition) view() []*block {
	if bs := p.blocks.Load(); bs != nil {
		return *bs
	}
	return nil
}

// add appends rec's codes, under Memory.mu.
func (p *partition) add(rec *record, codes []int8, q vecmath.Quantized) {
	bs := p.view()
	var b *block
	if len(bs) > 0 {
		b = bs[len(bs)-1]
	}
	if b == nil || b.sealed {
		// Blocks grow with the partition, so the many small partitions of
		// a store with many tenants and fingerprints stay small.
		b = newBlock(min(blockRows, max(minBlockRows, p.live)), p.stride)
		grown := append(slices.Clip(bs), b) // a new slice: scans keep theirs
		p.blocks.Store(&grown)
	}
	row := int(b.n.Load())
	copy(b.codes[row*p.stride:], codes)
	b.quant[row], b.recs[row] = q, rec
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
		c := newBlock(keep, p.stride)
		j := 0
		for r, rec := range b.recs[:n] {
			if rec.dead.Load() {
				continue
			}
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

// minCodesPerWorker is the scan work (in code bytes) worth another
// goroutine: a few hundred microseconds.
const minCodesPerWorker = 4 << 20

// search returns what an exact float32 scan of p would: the q.Limit()
// nearest usable entries within q.MaxDistance, nearest first. It also
// returns the expired entries it met, for the caller to drop.
//
// Each row's code dot product is within a known bound of the exact one
// (‖q‖·the row's residual + the query's residual·the row's code norm), so
// every row has a distance interval. A
// row is a candidate when its lower end is within the threshold and within
// the k-th smallest upper end seen so far; the candidates are rescored in
// float32 and the k nearest kept. A row of the exact top k always passes.
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
	workers := min(runtime.GOMAXPROCS(0), max(rows*p.stride/minCodesPerWorker, 1), len(blocks))
	scans := make([]scan, max(workers, 1))
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

func (s *scan) blocks(ctx context.Context, blocks []*block) {
	dots := make([]int32, blockRows)
	for _, b := range blocks {
		if ctx.Err() != nil {
			return
		}
		s.block(b, dots)
	}
}

func (s *scan) block(b *block, dots []int32) {
	n := int(b.n.Load())
	if n == 0 {
		return
	}
	vecmath.DotsInt8(b.codes, s.stride, s.codes.Codes, dots[:n])
	lim := s.limit()
	qscale, qres := float64(s.codes.Scale), float64(s.codes.Residual)
	for i, d := range dots[:n] {
		qz := &b.quant[i]
		sim := qscale * float64(qz.Scale) * float64(d)
		slack := s.qnorm*float64(qz.Residual) + qres*float64(qz.Norm) + boundSlack
		lower := 1 - sim - slack
		if lower > lim {
			continue
		}
		rec := b.recs[i]
		if !s.usable(rec) {
			continue
		}
		s.cands = append(s.cands, candidate{rec, lower})
		s.addUpper(1 - sim + slack)
		lim = s.limit()
	}
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

func (s *scan) addUpper(u float64) {
	if len(s.upper) == s.k && u >= s.upper[s.k-1] {
		return
	}
	i, _ := slices.BinarySearch(s.upper, u)
	if len(s.upper) == s.k {
		s.upper = s.upper[:s.k-1]
	}
	s.upper = slices.Insert(s.upper, i, u)
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
