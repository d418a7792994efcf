package semantic

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func randomUnit(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	u, _ := Normalize(v)
	return u
}

// BenchmarkMemorySearch is one vector search over a partition of n entries
// of the local model's size (512), the FLAT scan the in-process store does.
func BenchmarkMemorySearch(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			ctx := context.Background()
			r := rand.New(rand.NewPCG(1, 2))
			m, err := NewMemory(MemoryOptions{MaxEntries: n, Dimensions: 512})
			if err != nil {
				b.Fatal(err)
			}
			p := Partition{Scope: "s"}
			for i := range n {
				if err := m.Put(ctx, Entry{ID: fmt.Sprint(i), Partition: p, Vector: randomUnit(r, 512), StoredAt: time.Now(), TTL: time.Hour}); err != nil {
					b.Fatal(err)
				}
			}
			q := Query{Partition: p, Vector: randomUnit(r, 512), MaxDistance: 0.1}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.Search(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMemoryPut measures inserting into a full store (every Put evicts).
func BenchmarkMemoryPut(b *testing.B) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	m, err := NewMemory(MemoryOptions{MaxEntries: 10_000, Dimensions: 512})
	if err != nil {
		b.Fatal(err)
	}
	vec := randomUnit(r, 512)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if err := m.Put(ctx, Entry{ID: fmt.Sprint(i), Partition: Partition{Scope: "s"}, Vector: vec, StoredAt: time.Now(), TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
}
