package semantic

import (
	"slices"
	"sync/atomic"

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
