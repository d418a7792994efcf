package redisstore

import (
	"context"
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
				s, err := newStore(Options{URL: url, Storage: storage, Query: query, Model: fmt.Sprintf("bench/%d", time.Now().UnixNano()), Dimension: dim, Timeout: 5 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				defer func() {
					_ = s.client.Do(ctx, "FT.DROPINDEX", s.l.index, "DD").Err()
					_ = s.Close()
				}()
				if err := s.setup(ctx); err != nil {
					b.Fatal(err)
				}
				s.setState(nil)
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
					if (i+1)%1000 == 0 {
						if _, err := pipe.Exec(ctx); err != nil {
							b.Fatal(err)
						}
					}
				}
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
