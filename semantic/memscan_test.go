package semantic

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic/vecmath"
)

// exactTopK is the reference the store must agree with: a float32 scan of
// every usable entry.
func exactTopK(entries map[string]Entry, q Query, now time.Time) []found {
	var out []found
	for _, e := range entries {
		if e.Vector == nil || e.Partition != q.Partition || !now.Before(e.StoredAt.Add(e.TTL)) || e.StoredAt.Before(q.NotBefore) {
			continue
		}
		if d := 1 - float64(vecmath.Dot(q.Vector, e.Vector)); d <= q.MaxDistance {
			out = append(out, found{&record{e: e}, d})
		}
	}
	slices.SortFunc(out, func(a, b found) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.rec.e.ID, b.rec.e.ID))
	})
	return out[:min(len(out), q.Limit())]
}

// checkAgainstExact fails unless got holds exactly the entries of the exact
// scan's top k, in order, at the same distances.
func checkAgainstExact(t *testing.T, what string, got []Match, want []found) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d matches, exact scan %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].rec.e.ID || got[i].Distance != max(want[i].dist, 0) {
			t.Fatalf("%s: match %d is %s at %g, exact scan %s at %g", what, i, got[i].ID, got[i].Distance, want[i].rec.e.ID, want[i].dist)
		}
	}
}

// perturbed is v moved by noise of the given size, normalised: a near
// duplicate of a stored vector.
func perturbed(r *rand.Rand, v []float32, noise float64) []float32 {
	out := make([]float32, len(v))
	for i := range v {
		out[i] = v[i] + float32(noise*r.NormFloat64())
	}
	u, _ := Normalize(out)
	return u
}

// TestMemorySearchMatchesExactScan checks that the quantised scan returns
// the exact scan's top k, for random data and for clusters of near
// duplicates (where many entries lie within the bounds of each other), while
// entries are replaced, evicted (blocks compacted) and expire. The
// partition is large enough for the sign pre-filter.
func TestMemorySearchMatchesExactScan(t *testing.T) {
	ctx := context.Background()
	for _, dims := range []int{64, 384, 1536} {
		t.Run(fmt.Sprint("dims=", dims), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(dims), 7))
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			const maxEntries = signFilterRows + 1000
			m, err := NewMemory(MemoryOptions{MaxEntries: maxEntries, Dimensions: dims, Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			p := Partition{Scope: "s"}
			entries := make(map[string]Entry)
			var order []string // insertion order = LRU order: no reads below until the end
			centres := make([][]float32, 20)
			for i := range centres {
				centres[i] = randomUnit(r, dims)
			}
			for i := range maxEntries + 700 {
				v := randomUnit(r, dims)
				if i%2 == 0 { // half of them near one of 20 centres
					v = perturbed(r, centres[r.IntN(len(centres))], 0.3/float64(dims))
				}
				id := fmt.Sprint(r.IntN(maxEntries + 500)) // some IDs come back: replacement
				ttl := time.Hour
				if i%7 == 0 {
					ttl = time.Second
				}
				e := Entry{ID: id, Partition: p, Vector: v, StoredAt: clk.t.Add(time.Duration(i) * time.Millisecond), TTL: ttl}
				if err := m.Put(ctx, e); err != nil {
					t.Fatal(err)
				}
				order = slices.DeleteFunc(order, func(s string) bool { return s == id })
				order = append(order, id)
				entries[id] = e
				if len(order) > maxEntries {
					delete(entries, order[0])
					order = order[1:]
				}
			}
			clk.t = clk.t.Add(10 * time.Second) // the short-lived ones expire
			if live := m.parts[p].live; live < signFilterRows {
				t.Fatalf("%d entries: too few for the sign pre-filter", live)
			}
			for i := range 60 {
				q := Query{Partition: p, Vector: randomUnit(r, dims), MaxDistance: 2, K: 1 + i%10}
				switch i % 3 {
				case 0:
					q.Vector = perturbed(r, centres[r.IntN(len(centres))], 0.2/float64(dims))
					q.MaxDistance = 0.05
				case 1:
					q.Vector = perturbed(r, centres[r.IntN(len(centres))], 0.5/float64(dims))
					q.MaxDistance = 0.3
					q.NotBefore = clk.t.Add(-9 * time.Second)
				}
				want := exactTopK(entries, q, clk.t)
				got, err := m.Search(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstExact(t, fmt.Sprintf("query %d (k=%d, threshold %g)", i, q.K, q.MaxDistance), got, want)
			}
		})
	}
}

// TestMemorySearchStopsOnCancel checks that a search gives up between
// blocks once its context ends, and that every call refuses an ended one.
func TestMemorySearchStopsOnCancel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	m, err := NewMemory(MemoryOptions{MaxEntries: 100_000, Dimensions: wordDims})
	if err != nil {
		t.Fatal(err)
	}
	p := Partition{Scope: "s"}
	const entries = 50 * blockRows
	for i := range entries {
		if err := m.Put(context.Background(), Entry{ID: fmt.Sprint(i), Partition: p, Vector: randomUnit(r, wordDims), StoredAt: time.Now(), TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := &cancelAfter{Context: context.Background(), left: 3}
	got, err := m.Search(ctx, Query{Partition: p, Vector: randomUnit(r, wordDims), MaxDistance: 2})
	if err != context.Canceled || got != nil {
		t.Fatalf("search cancelled mid-scan: %v, %v; want context.Canceled", got, err)
	}
	if n := ctx.calls.Load(); n > 10 {
		t.Errorf("the scan went on for %d checks of a cancelled context", n)
	}

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Get(done, p, "1"); err != context.Canceled {
		t.Errorf("Get: %v", err)
	}
	if _, err := m.Search(done, Query{Partition: p, Vector: randomUnit(r, wordDims)}); err != context.Canceled {
		t.Errorf("Search: %v", err)
	}
	if err := m.Put(done, Entry{ID: "x", Partition: p, StoredAt: time.Now(), TTL: time.Hour}); err != context.Canceled {
		t.Errorf("Put: %v", err)
	}
}

// cancelAfter is a context whose deadline passes after a number of checks:
// a search in the middle of its scan.
type cancelAfter struct {
	context.Context
	left  int32
	calls atomic.Int32
}

func (c *cancelAfter) Err() error {
	if c.calls.Add(1) > c.left {
		return context.Canceled
	}
	return nil
}

// TestMemorySearchSharesCores checks that a partition large enough to be
// scanned by several goroutines gives the exact scan's answer whether the
// cores are free (its scan fans out) or all taken by other scans (it scans
// alone, without waiting for one).
func TestMemorySearchSharesCores(t *testing.T) {
	const dims = 1536
	n := 2*minBytesPerWorker/(8*vecmath.Words(dims)) + blockRows // two workers' worth of sign codes
	r := rand.New(rand.NewPCG(7, 7))
	m, err := NewMemory(MemoryOptions{MaxEntries: n, Dimensions: dims})
	if err != nil {
		t.Fatal(err)
	}
	p, now := Partition{Scope: "s"}, time.Now()
	entries := map[string]Entry{}
	for i := range n {
		e := Entry{ID: fmt.Sprint(i), Partition: p, Vector: randomUnit(r, dims), StoredAt: now, TTL: time.Hour}
		entries[e.ID] = e
		if err := m.Put(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	q := Query{Partition: p, Vector: perturbed(r, entries["7"].Vector, 0.5/dims), MaxDistance: 0.1, K: 3}
	want := exactTopK(entries, q, now)
	for _, taken := range []int{0, cap(m.cores)} {
		held := m.cores.take(taken)
		checkAgainstExact(t, fmt.Sprintf("%d of %d cores taken", held, cap(m.cores)), must(m.Search(context.Background(), q)), want)
		m.cores.give(held)
	}
}
