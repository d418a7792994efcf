package redisstore

// The integration suite needs a server with the search and JSON modules
// (Redis Stack >= 7.2 or Redis >= 8), named by SEMPROC_TEST_REDIS_URL. It
// FLUSHALLs that server: point it at a throw-away one.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
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
		Completion: []byte(`{"id":"c1","choices":[{"message":{"content":"Paris"}}]}`), Tokens: 3, InputTokens: 9,
		StoredAt: time.Now().Truncate(time.Millisecond), TTL: ttl,
	}
}

// forEachLayout runs f as a subtest on a ready store of each storage and
// query mode.
func forEachLayout(t *testing.T, f func(t *testing.T, s *Store)) {
	integrationURL(t)
	for _, storage := range []Storage{StorageJSON, StorageHash} {
		for _, query := range []QueryMode{QueryRange, QueryKNN} {
			t.Run(string(storage)+"/"+string(query), func(t *testing.T) {
				s := storeOn(t, storage, query, uniqueModel(t))
				s.start(context.Background())
				waitReady(t, s)
				f(t, s)
			})
		}
	}
}

func TestIntegration(t *testing.T) {
	forEachLayout(t, testStoreAndFind)
}

// TestIntegrationEntryExpiringUnderSearch: with active expiry paused, an
// expired key stays in the index until something reads it, as it does
// under load; the search must skip it, not fail, and find the live
// neighbour among its candidates.
func TestIntegrationEntryExpiringUnderSearch(t *testing.T) {
	forEachLayout(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.client.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", 0).Err(); err != nil {
			t.Skipf("DEBUG SET-ACTIVE-EXPIRE refused (start redis-server with --enable-debug-command local): %v", err)
		}
		t.Cleanup(func() { _ = s.client.Do(context.Background(), "DEBUG", "SET-ACTIVE-EXPIRE", 1).Err() })
		const ttl = 200 * time.Millisecond
		for _, e := range []semantic.Entry{
			newEntry("e1", v1, ttl), newEntry("e3", v1, ttl), newEntry("e2", near, time.Hour),
		} {
			if err := s.Put(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(ttl + 100*time.Millisecond) // e1 and e3 expired, still indexed
		// The nearest candidate alone is an expired one: a miss, not a failure.
		ms, err := s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold, K: 1})
		if err != nil {
			t.Fatalf("Search of one candidate: %v", err)
		}
		for _, m := range ms {
			if m.ID != "e2" {
				t.Errorf("Search of one candidate found %s, which expired", m.ID)
			}
		}
		ms, err = s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold, K: 5})
		if err != nil || len(ms) != 1 || ms[0].ID != "e2" {
			t.Fatalf("Search of five candidates = %+v, %v; want the live e2 only", ms, err)
		}
	})
}

// TestIntegrationManyPartitions: tenants, models and prompts share one
// index; each search sees its own partition only.
func TestIntegrationManyPartitions(t *testing.T) {
	forEachLayout(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 40
		parts := make([]semantic.Partition, n)
		for i := range parts {
			parts[i] = part
			switch i % 3 {
			case 0:
				parts[i].Scope = fmt.Sprintf("5c%04x", i)
			case 1:
				parts[i].Model = fmt.Sprintf("3d%04x", i)
			default:
				parts[i].Fingerprint = fmt.Sprintf("f9%04x", i)
			}
			e := newEntry(fmt.Sprintf("e%04x", i), v1, time.Hour)
			e.Partition = parts[i]
			if err := s.Put(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for i, p := range parts {
			ms, err := s.Search(ctx, semantic.Query{Partition: p, Vector: near, MaxDistance: threshold, K: 5})
			if err != nil || len(ms) != 1 || ms[0].ID != fmt.Sprintf("e%04x", i) || ms[0].Partition != p {
				t.Errorf("Search from partition %d = %+v, %v; want its own entry only", i, ms, err)
			}
		}
		if ms, err := s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold, K: 5}); err != nil || len(ms) != 0 {
			t.Errorf("Search from a partition with no entry = %+v, %v; want a miss", ms, err)
		}
	})
}

// TestIntegrationRestartWithIndexGone: a restart without persistence drops
// every connection and loses documents and index; the store serves again
// on a re-created index.
func TestIntegrationRestartWithIndexGone(t *testing.T) {
	forEachLayout(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.Put(ctx, newEntry("e1", v1, time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.client.Do(ctx, "FLUSHALL").Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.client.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no").Err(); err != nil {
			t.Fatalf("CLIENT KILL: %v", err)
		}
		// Pooled connections are dead: the first calls may fail (the
		// cache fails open), then the store serves again.
		eventually(t, "a search after the restart", func() error {
			ms, err := s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold, K: 5})
			if err == nil && len(ms) != 0 {
				return fmt.Errorf("found %+v, lost in the restart", ms)
			}
			return err
		})
		if err := s.Put(ctx, newEntry("e2", v1, time.Hour)); err != nil {
			t.Fatal(err)
		}
		if m, err := nearest(s.Search(ctx, semantic.Query{Partition: part, Vector: near, MaxDistance: threshold})); err != nil || m == nil || m.ID != "e2" {
			t.Errorf("Search = %v, %v; want e2", m, err)
		}
		if err := s.Ready(); err != nil {
			t.Errorf("Ready = %v after the store served again", err)
		}
	})
}

// report sends err unless errs is full (its count is not what is tested).
func report(errs chan<- error, err error) {
	select {
	case errs <- err:
	default:
	}
}

// TestIntegrationFlushAllDuringTraffic: writers and readers go on while
// the server is flushed; searches re-create the index, and the only
// failures are an index flushed again between its re-creation and the
// retry.
func TestIntegrationFlushAllDuringTraffic(t *testing.T) {
	forEachLayout(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const workers, flushes = 4, 5
		errs := make(chan error, 1000)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; ; r++ {
					select {
					case <-stop:
						return
					default:
					}
					e := newEntry(fmt.Sprintf("%x%06x", w+10, r), v1, time.Hour)
					if err := s.Put(ctx, e); err != nil {
						report(errs, fmt.Errorf("Put: %w", err))
					}
					if _, err := s.Search(ctx, semantic.Query{Partition: part, Vector: near, MaxDistance: threshold, K: 5}); err != nil {
						report(errs, fmt.Errorf("Search: %w", err))
					}
				}
			}()
		}
		for range flushes {
			time.Sleep(20 * time.Millisecond)
			if err := s.client.Do(ctx, "FLUSHALL").Err(); err != nil {
				t.Errorf("FLUSHALL: %v", err)
			}
		}
		time.Sleep(20 * time.Millisecond)
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			if !isMissingIndex(err) {
				t.Errorf("%v: want no failure but an index flushed again before the retry", err)
			}
		}
		if err := s.Put(ctx, newEntry("e1", v1, time.Hour)); err != nil {
			t.Fatal(err)
		}
		// An index re-created after the last flush indexes what was
		// written before in the background.
		eventually(t, "a hit after the traffic", func() error {
			m, err := nearest(s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold}))
			if err == nil && m == nil {
				return errors.New("a miss")
			}
			return err
		})
		info, err := s.client.Do(ctx, "FT.INFO", s.l.index).Result()
		if err != nil {
			t.Fatal(err)
		}
		if reason := s.l.indexMismatch(info); reason != "" {
			t.Errorf("index after the traffic does not fit: %s", reason)
		}
	})
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
		m.Window != e.Window || m.Tokens != 3 || m.InputTokens != 9 || !m.StoredAt.Equal(e.StoredAt) || m.TTL != time.Hour {
		t.Errorf("exact Get = %+v", m)
	}

	if m := search(v1, part, time.Time{}); m == nil || m.Distance != minDistance || m.Key != s.l.key("e1") {
		t.Errorf("Search of the same vector = %+v; want e1 at distance %v", m, minDistance)
	}
	m = search(near, part, time.Time{})
	if m == nil || math.Abs(m.Distance-0.00504) > 0.0005 {
		t.Fatalf("Search of a near vector = %+v; want e1 at ≈0.00504", m)
	}
	if string(m.Completion) != string(e.Completion) || m.Tokens != 3 || m.InputTokens != 9 || !m.StoredAt.Equal(e.StoredAt) ||
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
			missThenHit(t, s)
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
				missThenHit(t, s)
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

// missThenHit checks a store whose index was just lost or replaced: the
// first search misses on a re-created index, and an entry stored then is
// found.
func missThenHit(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if m, err := nearest(s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold})); err != nil || m != nil {
		t.Fatalf("first Search = %v, %v; want a miss on a re-created index", m, err)
	}
	if err := s.Put(ctx, newEntry("e1", v1, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if m, err := nearest(s.Search(ctx, semantic.Query{Partition: part, Vector: near, MaxDistance: threshold})); err != nil || m == nil || m.ID != "e1" {
		t.Errorf("Search = %v, %v; want e1", m, err)
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
	// The re-created index does not take it, so dropping it with DD
	// would not delete it.
	t.Cleanup(func() { _ = s.client.Del(context.Background(), key).Err() })
}

// TestIntegrationBoundPerScope: a tenant past its bound stops finding its
// oldest entries by vector, and another tenant keeps all of its own.
func TestIntegrationBoundPerScope(t *testing.T) {
	forEachLayout(t, func(t *testing.T, s *Store) {
		s.opts.MaxEntriesPerScope = 2
		ctx := context.Background()
		other := part
		other.Scope = "0e"
		t.Cleanup(func() {
			for _, scope := range []string{part.Scope, other.Scope} {
				stored, expires := s.l.scopeKeys(scope)
				_ = s.client.Del(context.Background(), stored, expires).Err()
			}
		})
		for i, p := range []semantic.Partition{part, other, part, other, part} {
			e := newEntry(fmt.Sprintf("e%d", i), v1, time.Hour)
			e.Partition = p
			e.StoredAt = e.StoredAt.Add(time.Duration(i) * time.Second)
			if err := s.Put(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for p, want := range map[semantic.Partition][]string{part: {"e2", "e4"}, other: {"e1", "e3"}} {
			ms, err := s.Search(ctx, semantic.Query{Partition: p, Vector: v1, MaxDistance: threshold, K: 5})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("scope %s finds %q, want %q", p.Scope, got, want)
			}
		}
	})
}
