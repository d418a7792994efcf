package semantic

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryOptions configures the in-process store.
type MemoryOptions struct {
	// Namespace prefixes entry keys, as the Redis store's does
	// ("<storage>:<model>:<dim>"), so X-Cache-Key reads the same.
	Namespace string
	// MaxEntries bounds the store; the least recently used entry goes first.
	MaxEntries int
	// Dimensions is the vector size every entry must have.
	Dimensions int
	Now        func() time.Time
}

// Memory is the in-process FLAT store: an exhaustive cosine scan over the
// normalised vectors of one partition, with TTL expiry and an LRU bound.
// Vectors must be normalised (the Cache does it), so distance is 1 − dot.
type Memory struct {
	o  MemoryOptions
	mu sync.Mutex
	// entries holds every live entry by ID; byPart indexes them by
	// partition so a search scans one tenant's entries only.
	entries *lru[string, *Entry]
	byPart  map[Partition]map[string]*Entry
}

var _ VectorStore = (*Memory)(nil)

// NewMemory returns an empty in-process store.
func NewMemory(o MemoryOptions) (*Memory, error) {
	if o.MaxEntries < 1 {
		return nil, fmt.Errorf("memory store: max entries %d must be at least 1", o.MaxEntries)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Memory{o: o, byPart: make(map[Partition]map[string]*Entry)}
	m.entries = newLRU(o.MaxEntries, func(id string, e *Entry) {
		part := m.byPart[e.Partition]
		delete(part, id)
		if len(part) == 0 {
			delete(m.byPart, e.Partition)
		}
	})
	return m, nil
}

// Put stores e, replacing an entry with the same ID.
func (m *Memory) Put(_ context.Context, e Entry) error {
	if e.Vector != nil && m.o.Dimensions > 0 && len(e.Vector) != m.o.Dimensions {
		return fmt.Errorf("memory store: %d dimensions, want %d: %w", len(e.Vector), m.o.Dimensions, ErrDimension)
	}
	e.Vector = append([]float32(nil), e.Vector...)
	e.Completion = append([]byte(nil), e.Completion...)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries.put(e.ID, &e)
	part := m.byPart[e.Partition]
	if part == nil {
		part = make(map[string]*Entry)
		m.byPart[e.Partition] = part
	}
	part[e.ID] = &e
	return nil
}

// Get is the exact layer: the entry with this ID, if it is live and in p.
func (m *Memory) Get(_ context.Context, p Partition, id string) (*Match, error) {
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries.get(id)
	if !ok || e.Partition != p {
		return nil, nil
	}
	if m.expired(e, now) {
		m.entries.delete(id)
		return nil, nil
	}
	return m.match(e, 0), nil
}

// Search returns the nearest live entries of q's partition within
// q.MaxDistance, nearest first, at most q.Limit().
func (m *Memory) Search(_ context.Context, q Query) ([]Match, error) {
	if m.o.Dimensions > 0 && len(q.Vector) != m.o.Dimensions {
		return nil, fmt.Errorf("memory store: query has %d dimensions, want %d: %w", len(q.Vector), m.o.Dimensions, ErrDimension)
	}
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	best := newTopK(q.Limit())
	var stale []string
	for id, e := range m.byPart[q.Partition] {
		if m.expired(e, now) {
			stale = append(stale, id)
			continue
		}
		if e.Vector == nil || e.StoredAt.Before(q.NotBefore) {
			continue
		}
		if d := 1 - float64(dot(q.Vector, e.Vector)); d <= q.MaxDistance {
			best.add(e, d)
		}
	}
	for _, id := range stale {
		m.entries.delete(id)
	}
	out := make([]Match, 0, len(best.items))
	for _, c := range best.items {
		m.entries.get(c.e.ID) // a candidate counts as a use for the LRU bound
		out = append(out, *m.match(c.e, max(c.d, 0)))
	}
	return out, nil
}

// topK keeps the k nearest candidates seen, nearest first.
type topK struct {
	k     int
	items []candidate
}

type candidate struct {
	e *Entry
	d float64
}

func newTopK(k int) *topK { return &topK{k: k, items: make([]candidate, 0, k)} }

func (t *topK) add(e *Entry, d float64) {
	if len(t.items) == t.k && d >= t.items[len(t.items)-1].d {
		return
	}
	i := len(t.items)
	for i > 0 && t.items[i-1].d > d {
		i--
	}
	if len(t.items) < t.k {
		t.items = append(t.items, candidate{})
	}
	copy(t.items[i+1:], t.items[i:len(t.items)-1])
	t.items[i] = candidate{e, d}
}

// Len is the number of entries held, live or not yet swept.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entries.len()
}

func (m *Memory) expired(e *Entry, now time.Time) bool {
	return !now.Before(e.StoredAt.Add(e.TTL))
}

func (m *Memory) match(e *Entry, dist float64) *Match {
	c := *e
	return &Match{Entry: c, Key: "semproc:" + m.o.Namespace + ":" + e.ID, Distance: dist, ExpiresAt: e.StoredAt.Add(e.TTL)}
}

func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a) && i+4 <= len(b); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a) && i < len(b); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
