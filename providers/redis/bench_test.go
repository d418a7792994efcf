package redisstore

import (
	"context"
	"testing"

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
