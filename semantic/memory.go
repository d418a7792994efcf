package semantic

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semproc/semproc/semantic/vecmath"
)

// MemoryOptions configures the in-process store.
type MemoryOptions struct {
	// Namespace prefixes entry keys, as the Redis store's does
	// ("<storage>:<model>:<dim>"), so X-Cache-Key reads the same.
	Namespace string
	// MaxEntries bounds the store; the least recently used entry goes first.
	MaxEntries int
	// MaxBytes, when positive, bounds the bytes the entries hold (see
	// EntryBytes); the least recently used entries go first.
	MaxBytes int64
	// MaxEntriesPerScope, when positive, bounds the entries of one tenant
	// (Partition.Scope): past it the tenant's own least recently used
	// entries go, never another tenant's.
	MaxEntriesPerScope int
	// Dimensions is the vector size every entry must have.
	Dimensions int
	Now        func() time.Time
}

// Memory is the in-process FLAT store: an exhaustive cosine scan over one
// partition's vectors, with TTL expiry and LRU bounds. Vectors must be
// normalised (the Cache does it), so distance is 1 − dot.
//
// A search reads the partition's codes with no lock held: in a large
// partition first its sign codes (1/32 of the float32 bytes), then the int8
// codes (a quarter) of the rows they leave in; it bounds each int8 code's
// error and rescores exactly every entry the bounds cannot rule out, so it
// returns what an exact float32 scan would (see memscan.go). mu guards only the bookkeeping
// (index, LRU order, byte count), held for microseconds by writes. Reads
// take no lock a write holds: Get finds its entry in ids, Search its
// partition under partsMu's read lock, and both record what they served in
// used, which writes apply to the LRU order under mu before evicting. So an
// exact Get never waits for a scan or a write, and a write never stalls a
// reader.
type Memory struct {
	o         MemoryOptions
	keyPrefix string
	mu        sync.Mutex
	// all holds every entry by ID in LRU order; scopes the same per tenant
	// when MaxEntriesPerScope is set.
	all    *lru[string, *record]
	scopes map[string]*lru[string, *record]
	bytes  int64
	// ids holds the entries of all by ID (string → *record), written under
	// mu, read without it.
	ids sync.Map
	// parts holds the entries with a vector, by partition, for the scan;
	// written under mu and partsMu, read under partsMu's read lock.
	partsMu sync.RWMutex
	parts   map[Partition]*partition
	// used holds the entries reads served since mu was last held; the few
	// of them that left the store since stay in memory until it is drained.
	used uses[*record]
	// cores bounds the goroutines the partitions' scans use at once.
	cores cores
	// rotations holds the sign codes' rotation by dimensions.
	rotations sync.Map
}

// record is one stored entry. e never changes once stored; dead is set,
// under mu, when the entry leaves the store, and read by scans without it.
type record struct {
	e    Entry
	size int64
	dead atomic.Bool
	// Where the entry's codes are, under mu; nil without a vector.
	part *partition
	blk  *block
	row  int
}

var _ VectorStore = (*Memory)(nil)

// NewMemory returns an empty in-process store.
func NewMemory(o MemoryOptions) (*Memory, error) {
	switch {
	case o.MaxEntries < 1:
		return nil, fmt.Errorf("memory store: max entries %d must be at least 1", o.MaxEntries)
	case o.MaxBytes < 0:
		return nil, fmt.Errorf("memory store: max bytes %d must not be negative", o.MaxBytes)
	case o.MaxEntriesPerScope < 0:
		return nil, fmt.Errorf("memory store: max entries per scope %d must not be negative", o.MaxEntriesPerScope)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Memory{
		o: o, keyPrefix: "semproc:" + o.Namespace + ":", // as in Redis
		scopes: make(map[string]*lru[string, *record]), parts: make(map[Partition]*partition), used: newUses[*record](), cores: newCores(),
	}
	m.all = newLRU(o.MaxEntries, m.evicted)
	return m, nil
}

// entryOverhead approximates what an entry costs beside its vector, codes,
// window, completion and ID: the record, its list elements and map slots,
// and its node in ids.
const entryOverhead = 464

// EntryBytes is what an entry of this window, completion, ID and vector
// size counts against MaxBytes: the float32 vector, its int8 and sign
// codes, the strings and a fixed overhead.
func EntryBytes(e Entry) int64 {
	var vec int
	if e.Vector != nil {
		vec = 4*len(e.Vector) + vecmath.Stride(len(e.Vector)) + 8*vecmath.Words(len(e.Vector)) + 12
	}
	return int64(vec + len(e.ID) + len(e.Window) + len(e.Completion) + entryOverhead)
}

// Put stores e, replacing an entry with the same ID.
func (m *Memory) Put(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.Vector != nil && m.o.Dimensions > 0 && len(e.Vector) != m.o.Dimensions {
		return fmt.Errorf("memory store: %d dimensions, want %d: %w", len(e.Vector), m.o.Dimensions, ErrDimension)
	}
	rec := &record{e: e, size: EntryBytes(e)}
	if m.o.MaxBytes > 0 && rec.size > m.o.MaxBytes {
		return fmt.Errorf("memory store: an entry of %d bytes exceeds the store's bound of %d bytes", rec.size, m.o.MaxBytes)
	}
	rec.e.Vector = slices.Clone(e.Vector)
	rec.e.Completion = slices.Clone(e.Completion)
	var c codes
	if e.Vector != nil { // coded before the lock is taken
		c = codes{signs: make([]uint64, vecmath.Words(len(e.Vector))), int8: make([]int8, vecmath.Stride(len(e.Vector)))}
		c.quant = vecmath.QuantizeInt8(c.int8, rec.e.Vector)
		m.rotation(len(e.Vector)).SignCode(c.signs, rec.e.Vector)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	m.used.drain(m.use) // before anything is evicted
	p := m.parts[e.Partition]
	if c.int8 != nil && p != nil && p.dims != len(e.Vector) {
		return fmt.Errorf("memory store: %d dimensions, the partition's entries %d: %w", len(e.Vector), p.dims, ErrDimension)
	}
	m.all.delete(e.ID) // a replaced entry leaves first
	if c.int8 != nil {
		if p = m.parts[e.Partition]; p == nil { // the delete may have emptied it
			p = &partition{dims: len(e.Vector), stride: len(c.int8), words: len(c.signs), rot: m.rotation(len(e.Vector)), cores: m.cores}
			m.partsMu.Lock()
			m.parts[e.Partition] = p
			m.partsMu.Unlock()
		}
		p.add(rec, c)
	}
	m.bytes += rec.size
	m.all.put(e.ID, rec)
	m.ids.Store(e.ID, rec)
	if m.o.MaxEntriesPerScope > 0 {
		s := m.scopes[e.Partition.Scope]
		if s == nil {
			s = newLRU(m.o.MaxEntriesPerScope, m.evicted)
			m.scopes[e.Partition.Scope] = s
		}
		s.put(e.ID, rec)
	}
	for m.o.MaxBytes > 0 && m.bytes > m.o.MaxBytes {
		m.all.removeOldest()
	}
	return nil
}

// Get is the exact layer: the entry with this ID, if it is live and in p.
func (m *Memory) Get(ctx context.Context, p Partition, id string) (*Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := m.o.Now()
	v, ok := m.ids.Load(id)
	if !ok {
		return nil, nil
	}
	rec := v.(*record)
	if rec.e.Partition != p || rec.dead.Load() {
		return nil, nil
	}
	if expired(rec, now) {
		m.mu.Lock()
		m.drop(rec)
		m.mu.Unlock()
		return nil, nil
	}
	m.used.add(rec, &m.mu, m.use)
	match := m.match(rec, 0)
	return &match, nil
}

// Search returns the nearest live entries of q's partition within
// q.MaxDistance, nearest first, at most q.Limit().
func (m *Memory) Search(ctx context.Context, q Query) ([]Match, error) {
	if m.o.Dimensions > 0 && len(q.Vector) != m.o.Dimensions {
		return nil, fmt.Errorf("memory store: query has %d dimensions, want %d: %w", len(q.Vector), m.o.Dimensions, ErrDimension)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := m.o.Now()
	m.partsMu.RLock()
	p := m.parts[q.Partition]
	m.partsMu.RUnlock()
	if p == nil {
		return []Match{}, nil
	}
	if len(q.Vector) != p.dims {
		return nil, fmt.Errorf("memory store: query has %d dimensions, entries %d: %w", len(q.Vector), p.dims, ErrDimension)
	}
	found, stale, err := p.search(ctx, q, now)
	if len(stale) > 0 {
		m.mu.Lock()
		for _, rec := range stale {
			m.drop(rec)
		}
		m.mu.Unlock()
	}
	out := make([]Match, 0, len(found))
	for _, f := range found {
		if f.rec.dead.Load() { // deleted, evicted or expired during the scan
			continue
		}
		m.used.add(f.rec, &m.mu, m.use) // a result counts as a use for the LRU bounds
		out = append(out, m.match(f.rec, max(f.dist, 0)))
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Len is the number of entries held, live or not yet swept.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.all.len()
}

// Bytes is what the entries held count against MaxBytes.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// rotation is the sign codes' rotation for vectors of dims dimensions.
func (m *Memory) rotation(dims int) *vecmath.Rotation {
	if r, ok := m.rotations.Load(dims); ok {
		return r.(*vecmath.Rotation)
	}
	r, _ := m.rotations.LoadOrStore(dims, vecmath.NewRotation(dims))
	return r.(*vecmath.Rotation)
}

// use moves rec to the front of the LRU lists, under mu.
func (m *Memory) use(rec *record) {
	if rec.dead.Load() {
		return
	}
	m.all.get(rec.e.ID)
	if s := m.scopes[rec.e.Partition.Scope]; s != nil {
		s.get(rec.e.ID)
	}
}

// evicted is the LRU lists' eviction callback.
func (m *Memory) evicted(_ string, rec *record) { m.drop(rec) }

// drop takes rec out of every index, once, under mu. The LRU lists call it
// when they evict, and it removes rec from the others.
func (m *Memory) drop(rec *record) {
	if rec.dead.Swap(true) {
		return
	}
	m.all.delete(rec.e.ID)
	m.ids.CompareAndDelete(rec.e.ID, rec)
	scope := rec.e.Partition.Scope
	if s := m.scopes[scope]; s != nil {
		s.delete(rec.e.ID)
		if s.len() == 0 {
			delete(m.scopes, scope)
		}
	}
	m.bytes -= rec.size
	if p := rec.part; p != nil {
		p.remove(rec)
		if p.live == 0 {
			m.partsMu.Lock()
			delete(m.parts, rec.e.Partition)
			m.partsMu.Unlock()
		}
	}
}

func expired(rec *record, now time.Time) bool {
	return !now.Before(rec.e.StoredAt.Add(rec.e.TTL))
}

func (m *Memory) match(rec *record, dist float64) Match {
	e := rec.e
	return Match{Entry: e, Key: m.keyPrefix + e.ID, Distance: dist, ExpiresAt: e.StoredAt.Add(e.TTL)}
}
