package semantic

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func unit(i int) []float32 {
	v := make([]float32, wordDims)
	v[i%wordDims] = 1
	return v
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	m := newTestMemory(t, clk, 2)
	p := Partition{Scope: "s"}
	for i, id := range []string{"a", "b"} {
		if err := m.Put(ctx, Entry{ID: id, Partition: p, Vector: unit(i), StoredAt: clk.t, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := m.Get(ctx, p, "a"); got == nil { // a is now the most recent
		t.Fatal("a missing")
	}
	if err := m.Put(ctx, Entry{ID: "c", Partition: p, Vector: unit(2), StoredAt: clk.t, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(ctx, p, "b"); got != nil {
		t.Error("b should have been evicted")
	}
	for _, got := range must(m.Search(ctx, Query{Partition: p, Vector: unit(1), MaxDistance: 0.5, K: 3})) {
		if got.ID == "b" {
			t.Error("search found evicted b")
		}
	}
	if m.Len() != 2 {
		t.Errorf("Len = %d, want 2", m.Len())
	}
}

// TestMemoryReadsOrderEviction checks that what Get and Search serve
// counts as a use for the LRU bounds, of the store and of a tenant, also
// when more reads than the buffer of uses holds come between two writes.
func TestMemoryReadsOrderEviction(t *testing.T) {
	ctx := context.Background()
	p := Partition{Scope: "s"}
	tests := []struct {
		name     string
		perScope bool
		read     func(m *Memory) // makes a the most recently used of a, b
	}{
		{"get", false, func(m *Memory) { _, _ = m.Get(ctx, p, "a") }},
		{"search", false, func(m *Memory) {
			_, _ = m.Search(ctx, Query{Partition: p, Vector: unit(0), MaxDistance: 0.1})
		}},
		{"reads past the buffer", false, func(m *Memory) {
			for range 3 * useBuffer {
				_, _ = m.Get(ctx, p, "b")
			}
			_, _ = m.Get(ctx, p, "a")
		}},
		{"tenant bound", true, func(m *Memory) { _, _ = m.Get(ctx, p, "a") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			o := MemoryOptions{MaxEntries: 2, Dimensions: wordDims, Now: clk.now}
			if tt.perScope {
				o.MaxEntries, o.MaxEntriesPerScope = 10, 2
			}
			m, err := NewMemory(o)
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range []string{"a", "b", "c"} {
				if err := m.Put(ctx, Entry{ID: id, Partition: p, Vector: unit(i), StoredAt: clk.t, TTL: time.Hour}); err != nil {
					t.Fatal(err)
				}
				if id == "b" {
					tt.read(m)
				}
			}
			if got, _ := m.Get(ctx, p, "b"); got != nil {
				t.Error("b was used least recently and should have been evicted")
			}
			if got, _ := m.Get(ctx, p, "a"); got == nil {
				t.Error("a was used last and should have been kept")
			}
		})
	}
}

func TestMemorySearchNearestWithinThreshold(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	m := newTestMemory(t, clk, 10)
	p := Partition{Scope: "s"}
	near, _ := Normalize(append([]float32{1, 0.2}, make([]float32, wordDims-2)...))
	nearer, _ := Normalize(append([]float32{1, 0.1}, make([]float32, wordDims-2)...))
	_ = m.Put(ctx, Entry{ID: "near", Partition: p, Vector: near, StoredAt: clk.t, TTL: time.Hour})
	_ = m.Put(ctx, Entry{ID: "nearer", Partition: p, Vector: nearer, StoredAt: clk.t.Add(time.Second), TTL: time.Hour})
	_ = m.Put(ctx, Entry{ID: "exact-only", Partition: p, StoredAt: clk.t, TTL: time.Hour})
	got, err := m.Search(ctx, Query{Partition: p, Vector: unit(0), MaxDistance: 0.1})
	if err != nil || len(got) != 1 || got[0].ID != "nearer" {
		t.Fatalf("nearest: %+v %v", got, err)
	}
	if got[0].Distance <= 0 || got[0].Distance > 0.01 {
		t.Errorf("distance %v", got[0].Distance)
	}
	got = must(m.Search(ctx, Query{Partition: p, Vector: unit(0), MaxDistance: 0.1, K: 5}))
	if len(got) != 2 || got[0].ID != "nearer" || got[1].ID != "near" || got[1].Distance < got[0].Distance {
		t.Errorf("top 5 = %+v; want nearer, then near", got)
	}
	if got, _ := m.Search(ctx, Query{Partition: p, Vector: unit(0), MaxDistance: 0.001}); len(got) != 0 {
		t.Errorf("match beyond threshold: %s", got[0].ID)
	}
	if got, _ := m.Search(ctx, Query{Partition: p, Vector: unit(0), MaxDistance: 0.1, NotBefore: clk.t.Add(2 * time.Second)}); len(got) != 0 {
		t.Errorf("NotBefore ignored: %s", got[0].ID)
	}
	if _, err := m.Search(ctx, Query{Partition: p, Vector: []float32{1}}); err == nil {
		t.Error("a query of the wrong dimension must fail")
	}
}

func TestMemoryConcurrentUse(t *testing.T) {
	ctx := context.Background()
	m, err := NewMemory(MemoryOptions{MaxEntries: 50, Dimensions: wordDims})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := Partition{Scope: fmt.Sprint(g % 2)}
			for i := range 200 {
				id := fmt.Sprint(g, "-", i)
				if err := m.Put(ctx, Entry{ID: id, Partition: p, Vector: unit(i), StoredAt: time.Now(), TTL: time.Hour}); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Search(ctx, Query{Partition: p, Vector: unit(i), MaxDistance: 0.1}); err != nil {
					t.Error(err)
					return
				}
				_, _ = m.Get(ctx, p, id)
				// The admin API deletes while others read and write.
				switch i % 50 {
				case 10:
					_, _ = m.Delete(ctx, "semproc:"+m.o.Namespace+":"+id)
				case 20:
					_, _ = m.DeleteWhere(ctx, Filter{})
				case 30:
					_, _ = m.Stats(ctx)
				}
			}
		}()
	}
	wg.Wait()
	if m.Len() > 50 {
		t.Errorf("Len %d over the bound", m.Len())
	}
	if n := must(m.DeleteWhere(ctx, Filter{})); m.Len() != 0 || m.Bytes() != 0 || len(m.parts) != 0 {
		t.Errorf("after deleting all %d: %d entries, %d bytes, %d partitions", n, m.Len(), m.Bytes(), len(m.parts))
	}
	m.ids.Range(func(id, _ any) bool {
		t.Errorf("after deleting all: %s still in the ID index", id)
		return false
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestMemoryNoisyTenantEvictsOnlyItsOwn fills the store from one tenant far
// past its bound and checks another tenant's entries all survive, found by
// Get and by Search.
func TestMemoryNoisyTenantEvictsOnlyItsOwn(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	m, err := NewMemory(MemoryOptions{MaxEntries: 100, MaxEntriesPerScope: 10, Dimensions: wordDims, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	quiet, noisy := Partition{Scope: "quiet"}, Partition{Scope: "noisy"}
	for i := range 5 {
		if err := m.Put(ctx, Entry{ID: fmt.Sprint("q", i), Partition: quiet, Vector: unit(i), StoredAt: now, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		if err := m.Put(ctx, Entry{ID: fmt.Sprint("n", i), Partition: noisy, Vector: unit(i), StoredAt: now, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if got, _ := m.Get(ctx, quiet, fmt.Sprint("q", i)); got == nil {
			t.Errorf("the quiet tenant lost q%d to the noisy one", i)
		}
		if got := must(m.Search(ctx, Query{Partition: quiet, Vector: unit(i), MaxDistance: 0.1})); len(got) != 1 || got[0].ID != fmt.Sprint("q", i) {
			t.Errorf("search for q%d: %+v", i, got)
		}
	}
	if got, _ := m.Get(ctx, noisy, "n999"); got == nil {
		t.Error("the noisy tenant's newest entry is gone")
	}
	if got, _ := m.Get(ctx, noisy, "n989"); got != nil {
		t.Error("the noisy tenant kept more than its bound")
	}
	if m.Len() != 15 {
		t.Errorf("Len = %d, want 5 quiet + 10 noisy", m.Len())
	}
}

// TestMemoryMaxBytes checks the byte bound evicts the least recently used
// entries, keeps the count exact, and refuses an entry larger than it.
func TestMemoryMaxBytes(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	entry := func(id string, completion int) Entry {
		return Entry{ID: id, Partition: Partition{Scope: "s"}, Vector: unit(len(id)), Completion: make([]byte, completion), StoredAt: now, TTL: time.Hour}
	}
	size := EntryBytes(entry("a", 1000))
	m, err := NewMemory(MemoryOptions{MaxEntries: 100, MaxBytes: 3 * size, Dimensions: wordDims, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := m.Put(ctx, entry(id, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = m.Get(ctx, Partition{Scope: "s"}, "a") // b is now the least recently used
	if err := m.Put(ctx, entry("d", 1000)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		kept bool
	}{{"b", false}, {"c", true}, {"a", true}, {"d", true}} { // a and d are now the most recent
		if got, _ := m.Get(ctx, Partition{Scope: "s"}, c.id); (got != nil) != c.kept {
			t.Errorf("%s kept = %v, want %v", c.id, got != nil, c.kept)
		}
	}
	big := entry("e", int(size)+1000) // takes two entries' room: c and a go
	if EntryBytes(big) != 2*size {
		t.Fatalf("big entry of %d bytes, want %d", EntryBytes(big), 2*size)
	}
	if err := m.Put(ctx, big); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(ctx, Partition{Scope: "s"}, "d"); got == nil || m.Len() != 2 || m.Bytes() != 3*size {
		t.Errorf("d kept %v, Len %d, Bytes %d; want d and e in %d bytes", got != nil, m.Len(), m.Bytes(), 3*size)
	}
	if err := m.Put(ctx, entry("huge", int(4*size))); err == nil {
		t.Error("an entry larger than the whole bound was stored")
	}
}

// TestMemorySearchSkipsEntriesDeadDuringScan deletes the nearest entry
// while a search runs, at each of the points where the search checks its
// context (before, between and after the blocks it scans): the search must
// never return the deleted entry.
func TestMemorySearchSkipsEntriesDeadDuringScan(t *testing.T) {
	for at := int32(1); at <= 6; at++ {
		t.Run(fmt.Sprint("check=", at), func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			m := newTestMemory(t, clk, 10)
			p := Partition{Scope: "s"}
			for i, id := range []string{"gone", "kept"} {
				v, _ := Normalize(append([]float32{1, float32(i) * 0.1}, make([]float32, wordDims-2)...))
				if err := m.Put(context.Background(), Entry{ID: id, Partition: p, Vector: v, StoredAt: clk.t, TTL: time.Hour}); err != nil {
					t.Fatal(err)
				}
			}
			ctx := &onCheck{Context: context.Background(), at: at, do: func() {
				if ok, err := m.Delete(context.Background(), m.keyPrefix+"gone"); !ok || err != nil {
					t.Errorf("delete: %v %v", ok, err)
				}
			}}
			got, err := m.Search(ctx, Query{Partition: p, Vector: unit(0), MaxDistance: 0.1, K: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if g.ID == "gone" && ctx.calls.Load() >= at {
					t.Errorf("search returned an entry deleted during it (deleted at context check %d)", at)
				}
			}
		})
	}
}

// onCheck is a context that runs do at its at-th Err check: something
// happening at that point of a call.
type onCheck struct {
	context.Context
	at    int32
	do    func()
	calls atomic.Int32
}

func (c *onCheck) Err() error {
	if c.calls.Add(1) == c.at {
		c.do()
	}
	return nil
}
