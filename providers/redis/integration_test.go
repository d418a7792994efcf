package redisstore

// The integration suite needs a server with the search and JSON modules
// (Redis Stack >= 7.2 or Redis >= 8), named by SEMPROC_TEST_REDIS_URL. It
// FLUSHALLs that server: point it at a throw-away one.

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

var (
	v1   = []float32{1, 0, 0, 0}
	near = []float32{0.99, 0.1, 0, 0} // cosine distance to v1 ≈ 0.00504
	far  = []float32{0, 1, 0, 0}      // distance 1
)

const threshold = 0.1

func integrationURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("SEMPROC_TEST_REDIS_URL")
	if u == "" {
		t.Skip("SEMPROC_TEST_REDIS_URL is not set: the integration suite needs Redis Stack >= 7.2 or Redis >= 8 " +
			"(e.g. docker run -p 6379:6379 redis:8 and SEMPROC_TEST_REDIS_URL=redis://127.0.0.1:6379)")
	}
	return u
}

// uniqueModel gives each test its own namespace.
func uniqueModel(t *testing.T) string {
	return fmt.Sprintf("itest/%s/%d", t.Name(), time.Now().UnixNano())
}

// storeOn returns a store that is not started yet, cleaned up after the
// test (index and documents dropped).
func storeOn(t *testing.T, storage Storage, query QueryMode, model string) *Store {
	t.Helper()
	s, err := newStore(Options{
		URL: integrationURL(t), Storage: storage, Query: query, Model: model, Dimension: len(v1),
		Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.client.Do(context.Background(), "FT.DROPINDEX", s.l.index, "DD").Err()
		_ = s.Close()
	})
	return s
}

func waitReady(t *testing.T, s *Store) {
	t.Helper()
	eventually(t, "store ready", s.Ready)
}

func newEntry(id string, vec []float32, ttl time.Duration) semantic.Entry {
	return semantic.Entry{
		ID: id, Partition: part, Window: "what is the capital of France?", Vector: vec,
		Completion: []byte(`{"id":"c1","choices":[{"message":{"content":"Paris"}}]}`), Tokens: 3,
		StoredAt: time.Now().Truncate(time.Millisecond), TTL: ttl,
	}
}

func TestIntegration(t *testing.T) {
	integrationURL(t)
	for _, storage := range []Storage{StorageJSON, StorageHash} {
		for _, query := range []QueryMode{QueryRange, QueryKNN} {
			t.Run(string(storage)+"/"+string(query), func(t *testing.T) {
				s := storeOn(t, storage, query, uniqueModel(t))
				s.start(context.Background())
				waitReady(t, s)
				testStoreAndFind(t, s)
			})
		}
	}
}

func testStoreAndFind(t *testing.T, s *Store) {
	ctx := context.Background()
	search := func(vec []float32, p semantic.Partition, notBefore time.Time) *semantic.Match {
		t.Helper()
		m, err := nearest(s.Search(ctx, semantic.Query{Partition: p, Vector: vec, MaxDistance: threshold, NotBefore: notBefore}))
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		return m
	}
	e := newEntry("e1", v1, time.Hour)
	if err := s.Put(ctx, e); err != nil {
		t.Fatalf("Put: %v", err)
	}

	m, err := s.Get(ctx, part, "e1")
	if err != nil || m == nil {
		t.Fatalf("exact Get = %v, %v; want the entry", m, err)
	}
	if m.Key != s.l.key("e1") || m.Distance != 0 || string(m.Completion) != string(e.Completion) ||
		m.Window != e.Window || m.Tokens != 3 || !m.StoredAt.Equal(e.StoredAt) || m.TTL != time.Hour {
		t.Errorf("exact Get = %+v", m)
	}

	if m := search(v1, part, time.Time{}); m == nil || m.Distance != minDistance || m.Key != s.l.key("e1") {
		t.Errorf("Search of the same vector = %+v; want e1 at distance %v", m, minDistance)
	}
	m = search(near, part, time.Time{})
	if m == nil || math.Abs(m.Distance-0.00504) > 0.0005 {
		t.Fatalf("Search of a near vector = %+v; want e1 at ≈0.00504", m)
	}
	if string(m.Completion) != string(e.Completion) || m.Tokens != 3 || !m.StoredAt.Equal(e.StoredAt) ||
		m.TTL != time.Hour || m.Partition != part || m.Window != e.Window {
		t.Errorf("semantic hit = %+v", m)
	}
	if left := time.Until(m.ExpiresAt); left <= 0 || left > time.Hour {
		t.Errorf("semantic hit expires in %s", left)
	}
	if m := search(far, part, time.Time{}); m != nil {
		t.Errorf("Search of a far vector = %+v; want a miss", m)
	}

	for _, other := range []semantic.Partition{
		{Model: "ff", API: part.API, Scope: part.Scope, Fingerprint: part.Fingerprint},
		{Model: part.Model, API: "ff", Scope: part.Scope, Fingerprint: part.Fingerprint},
		{Model: part.Model, API: part.API, Scope: "ff", Fingerprint: part.Fingerprint},
		{Model: part.Model, API: part.API, Scope: part.Scope, Fingerprint: "ff"},
	} {
		if m := search(v1, other, time.Time{}); m != nil {
			t.Errorf("Search from partition %+v = %+v; want a miss", other, m)
		}
		if m, err := s.Get(ctx, other, "e1"); err != nil || m != nil {
			t.Errorf("Get from partition %+v = %+v, %v; want a miss", other, m, err)
		}
	}

	if m := search(v1, part, e.StoredAt.Add(time.Second)); m != nil {
		t.Errorf("Search not before %s = %+v; want a miss", e.StoredAt.Add(time.Second), m)
	}
	if m := search(v1, part, e.StoredAt.Add(-time.Second)); m == nil {
		t.Error("Search not before an earlier time missed")
	}

	// An exact-only entry has no vector field: the index must neither fail
	// on it nor find it by vector.
	exact := newEntry("e2", nil, time.Hour)
	exact.Window = "a window too long to embed"
	if err := s.Put(ctx, exact); err != nil {
		t.Fatalf("Put exact-only: %v", err)
	}
	if m, err := s.Get(ctx, part, "e2"); err != nil || m == nil {
		t.Errorf("Get exact-only = %v, %v; want it", m, err)
	}
	if m := search(v1, part, time.Time{}); m == nil || m.Key != s.l.key("e1") {
		t.Errorf("Search with an exact-only entry stored = %+v; want e1", m)
	}
	info, err := s.client.Do(ctx, "FT.INFO", s.l.index).Result()
	if err != nil {
		t.Fatalf("FT.INFO: %v", err)
	}
	if f := text(pairs(info)["hash_indexing_failures"]); f != "" && f != "0" {
		t.Errorf("hash_indexing_failures = %s after storing an entry without vector", f)
	}

	short := newEntry("e3", []float32{0, 0, 1, 0}, time.Hour)
	short.StoredAt = time.Now().Add(-time.Hour + 1500*time.Millisecond)
	if err := s.Put(ctx, short); err != nil {
		t.Fatalf("Put short-lived: %v", err)
	}
	eventually(t, "TTL expiry", func() error {
		if m := search(short.Vector, part, time.Time{}); m != nil {
			return fmt.Errorf("Search found %s", m.Key)
		}
		if m, err := s.Get(ctx, part, "e3"); err != nil || m != nil {
			return fmt.Errorf("Get = %v, %v", m, err)
		}
		return nil
	})
}

func TestIntegrationRecreatesAfterFlushAll(t *testing.T) {
	integrationURL(t)
	for _, storage := range []Storage{StorageJSON, StorageHash} {
		t.Run(string(storage), func(t *testing.T) {
			s := storeOn(t, storage, QueryRange, uniqueModel(t))
			s.start(context.Background())
			waitReady(t, s)
			ctx := context.Background()
			if err := s.client.Do(ctx, "FLUSHALL").Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
			if m, err := nearest(s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold})); err != nil || m != nil {
				t.Fatalf("Search after FLUSHALL = %v, %v; want a miss on a re-created index", m, err)
			}
			if err := s.Put(ctx, newEntry("e1", v1, time.Hour)); err != nil {
				t.Fatal(err)
			}
			if m, err := nearest(s.Search(ctx, semantic.Query{Partition: part, Vector: near, MaxDistance: threshold})); err != nil || m == nil {
				t.Errorf("Search = %v, %v; want e1", m, err)
			}
		})
	}
}

func TestIntegrationRecreatesIndexOfAnotherDimension(t *testing.T) {
	integrationURL(t)
	for _, storage := range []Storage{StorageJSON, StorageHash} {
		for _, tc := range []struct {
			name string
			// vectors: the wrong index holds a vector of its dimension.
			vectors bool
			// running: the index is replaced under a running store, whose
			// next query the server refuses.
			running bool
		}{
			{"empty", false, false},
			{"holding vectors", true, false},
			{"replaced under a running store", true, true},
		} {
			t.Run(string(storage)+"/"+tc.name, func(t *testing.T) {
				s := storeOn(t, storage, QueryRange, uniqueModel(t))
				ctx := context.Background()
				if tc.running {
					s.start(ctx)
					waitReady(t, s)
					if err := s.client.Do(ctx, "FT.DROPINDEX", s.l.index).Err(); err != nil {
						t.Fatal(err)
					}
				}
				createOfDimension3(t, s, tc.vectors)
				if !tc.running {
					s.start(ctx)
					waitReady(t, s)
				}
				// RediSearch >= 2.8 shows the dimension and the check re-creates
				// the index; before, the check's probe or the first query's
				// blob-size error does.
				if m, err := nearest(s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold})); err != nil || m != nil {
					t.Fatalf("first Search = %v, %v; want a miss on a re-created index", m, err)
				}
				if err := s.Put(ctx, newEntry("e1", v1, time.Hour)); err != nil {
					t.Fatal(err)
				}
				if m, err := nearest(s.Search(ctx, semantic.Query{Partition: part, Vector: near, MaxDistance: threshold})); err != nil || m == nil {
					t.Errorf("Search = %v, %v; want e1", m, err)
				}
				info, err := s.client.Do(ctx, "FT.INFO", s.l.index).Result()
				if err != nil {
					t.Fatal(err)
				}
				if reason := s.l.indexMismatch(info); reason != "" {
					t.Errorf("index still does not fit: %s", reason)
				}
				if probes, err := s.client.Keys(ctx, s.l.prefix+"probe-*").Result(); err != nil || len(probes) != 0 {
					t.Errorf("probe documents left: %v, %v", probes, err)
				}
			})
		}
	}
}

// createOfDimension3 creates the store's index for vectors of 3, holding a
// document with such a vector when withVector is set.
func createOfDimension3(t *testing.T, s *Store, withVector bool) {
	t.Helper()
	ctx := context.Background()
	wrong := s.l.createArgs()
	for i, a := range wrong {
		if a == "DIM" {
			wrong[i+1] = 3
		}
	}
	if err := s.client.Do(ctx, wrong...).Err(); err != nil {
		t.Fatalf("create an index of dimension 3: %v", err)
	}
	if !withVector {
		return
	}
	key := s.l.key("0dd")
	set := []any{"HSET", key, fieldVector, vectorBlob([]float32{1, 0, 0})}
	if s.l.storage == StorageJSON {
		set = []any{"JSON.SET", key, "$", `{"vector":[1,0,0]}`}
	}
	if err := s.client.Do(ctx, set...).Err(); err != nil {
		t.Fatalf("store a vector of 3: %v", err)
	}
}
