package redisstore

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

// BenchmarkSearchArgs measures building an FT.SEARCH for a 1536-dimension
// query vector (the blob conversion dominates).
func BenchmarkSearchArgs(b *testing.B) {
	s, err := newStore(Options{URL: "redis://127.0.0.1:1", Model: "m", Dimension: 1536})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	q := semantic.Query{Partition: part, Vector: make([]float32, 1536), MaxDistance: 0.1}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.searchArgs(q)
	}
}

// BenchmarkExactGet measures the exact layer (HMGET + PTTL in one round
// trip) against a local redis-server.
func BenchmarkExactGet(b *testing.B) {
	srv := startRedis(b)
	s, err := newStore(Options{URL: srv.url(), Storage: StorageHash, Model: "m", Dimension: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.setState(nil)
	ctx := context.Background()
	if err := s.Put(ctx, fresh(entry([]float32{1, 0}))); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if m, err := s.Get(ctx, part, "ee55"); err != nil || m == nil {
			b.Fatalf("Get = %v, %v", m, err)
		}
	}
}

// BenchmarkIntegrationSearch10k measures one search (five candidates)
// among 10,000 entries of 384 dimensions in one partition, on the server
// SEMPROC_TEST_REDIS_URL names; each search must find the entry whose
// vector it asks with.
func BenchmarkIntegrationSearch10k(b *testing.B) {
	url := os.Getenv("SEMPROC_TEST_REDIS_URL")
	if url == "" {
		b.Skip("SEMPROC_TEST_REDIS_URL is not set")
	}
	const n, dim = 10000, 384
	rng := rand.New(rand.NewPCG(1, 2))
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = rng.Float32() - 0.5
		}
	}
	for _, storage := range []Storage{StorageJSON, StorageHash} {
		for _, query := range []QueryMode{QueryRange, QueryKNN} {
			b.Run(string(storage)+"/"+string(query), func(b *testing.B) {
				s := benchIndex(b, Options{URL: url, Storage: storage, Query: query, Model: fmt.Sprintf("bench/%d", time.Now().UnixNano()), Dimension: dim, Timeout: 5 * time.Second})
				loadEntries(b, s, vecs)
				ctx := context.Background()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					want := fmt.Sprintf("%08x", i%n)
					ms, err := s.Search(ctx, semantic.Query{Partition: part, Vector: vecs[i%n], MaxDistance: 0.1, K: 5})
					if err != nil || len(ms) == 0 || ms[0].ID != want {
						b.Fatalf("Search = %+v, %v; want %s first", ms, err, want)
					}
					i++
				}
			})
		}
	}
}

// benchIndex returns a started store on an index of its own, dropped with
// its documents when the benchmark ends.
func benchIndex(b *testing.B, o Options) *Store {
	b.Helper()
	s, err := newStore(o)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Cleanup(func() {
		_ = s.client.Do(ctx, "FT.DROPINDEX", s.l.index, "DD").Err()
		_ = s.Close()
	})
	if err := s.setup(ctx); err != nil {
		b.Fatal(err)
	}
	s.setState(nil)
	return s
}

// loadEntries stores vecs as fresh entries with IDs 00000000, 00000001, …,
// in pipelined batches.
func loadEntries(b *testing.B, s *Store, vecs [][]float32) {
	b.Helper()
	ctx := context.Background()
	pipe := s.client.Pipeline()
	for i, v := range vecs {
		e := fresh(entry(v))
		e.ID = fmt.Sprintf("%08x", i)
		cmds, err := s.putCommands(e)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cmds {
			pipe.Do(ctx, c...)
		}
		if (i+1)%1000 == 0 || i == len(vecs)-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

var benchLarge = flag.Bool("semproc.large", false, "benchmark 100,000 entries too (about 1.5 GB in Redis, 1 GB here)")

// BenchmarkIntegrationFlatBesideMemory puts side by side, in one run and on
// the same random unit vectors of 1536 dimensions: a copy of their float32
// bytes (the machine's memory bandwidth), the in-process store's search,
// and Redis FLAT's on the server SEMPROC_TEST_REDIS_URL names (hash
// storage; the range query semproc sends by default, and KNN), each for a
// near duplicate of one entry, k = 5, threshold 0.1. The Redis index is
// the benchmark's own (a unique model) and is dropped with its documents
// after. -semproc.large adds 100,000 entries.
func BenchmarkIntegrationFlatBesideMemory(b *testing.B) {
	url := os.Getenv("SEMPROC_TEST_REDIS_URL")
	if url == "" {
		b.Skip("SEMPROC_TEST_REDIS_URL is not set")
	}
	sizes := []int{10_000}
	if *benchLarge {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprint("entries=", n), func(b *testing.B) { flatBesideMemory(b, url, n) })
	}
}

func flatBesideMemory(b *testing.B, url string, n int) {
	const dims = 1536
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	unit := func(v []float32) []float32 {
		u, err := semantic.Normalize(v)
		if err != nil {
			b.Fatal(err)
		}
		return u
	}
	flat := make([]float32, 0, n*dims)
	vecs := make([][]float32, n)
	mem, err := semantic.NewMemory(semantic.MemoryOptions{MaxEntries: n, Dimensions: dims})
	if err != nil {
		b.Fatal(err)
	}
	for i := range vecs {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		vecs[i] = unit(v)
		flat = append(flat, vecs[i]...)
		e := fresh(entry(vecs[i]))
		e.ID = fmt.Sprintf("%08x", i)
		if err := mem.Put(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	model := fmt.Sprintf("bench/flat/%d", time.Now().UnixNano())
	load := benchIndex(b, Options{URL: url, Storage: StorageHash, Model: model, Dimension: dims, Timeout: 10 * time.Second})
	loadEntries(b, load, vecs)
	want := n / 2
	q := make([]float32, dims)
	for j := range q {
		q[j] = flat[want*dims+j] + float32(0.5/dims*rng.NormFloat64())
	}
	query := semantic.Query{Partition: part, Vector: unit(q), MaxDistance: 0.1, K: 5}
	search := func(b *testing.B, s semantic.VectorStore) {
		b.SetBytes(int64(4 * len(flat)))
		for b.Loop() {
			got, err := s.Search(ctx, query)
			if err != nil || len(got) != 1 || got[0].ID != fmt.Sprintf("%08x", want) {
				b.Fatalf("search: %+v, %v", got, err)
			}
		}
	}
	b.Run("copy", func(b *testing.B) {
		dst := make([]float32, len(flat))
		copy(dst, flat)
		b.SetBytes(int64(4 * len(flat)))
		for b.Loop() {
			copy(dst, flat)
		}
	})
	b.Run("memory", func(b *testing.B) { search(b, mem) })
	b.Run("redis-range", func(b *testing.B) { search(b, load) })
	knn, err := newStore(Options{URL: url, Storage: StorageHash, Query: QueryKNN, Model: model, Dimension: dims, Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer knn.Close()
	knn.setState(nil)
	b.Run("redis-knn", func(b *testing.B) { search(b, knn) })
}
