package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

// TestVanillaDeleteAndStats: deleting by key and counting by model use
// plain commands (DEL, ZREM, SCAN, MEMORY USAGE), so hash storage shows
// them on a Redis without modules.
func TestVanillaDeleteAndStats(t *testing.T) {
	srv := startRedis(t)
	s := exactStore(t, srv)
	s.opts.MaxEntriesPerScope = 10
	ctx := context.Background()
	other := part
	other.Model = "ff00"
	puts := []semantic.Entry{scoped("a0", "cc33", 0, time.Hour), scoped("a1", "cc33", 0, time.Hour), scoped("b0", "cc33", 0, time.Hour)}
	puts[2].Partition = other
	puts[2].Partition.Scope = "cc33"
	for _, e := range puts {
		if err := s.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Namespace != "hash:m:2" || st.Entries != 3 || len(st.Models) != 2 || st.Models[0].Model != part.Model || st.Models[0].Entries != 2 ||
		st.Models[1].Model != other.Model || st.Models[1].Entries != 1 || st.Bytes <= 0 || st.Bytes != st.Models[0].Bytes+st.Models[1].Bytes {
		t.Errorf("Stats = %+v", st)
	}

	for _, tt := range []struct {
		key  string
		want bool
	}{
		{"semproc:hash:m:2:a0", true}, {"semproc:hash:m:2:a0", false}, {"semproc:hash:m:2:ab12", false},
		{"semproc:json:m:2:a1", false}, {"semproc:hash:m:2:a1*", false}, {"semproc:scope:hash:m:2:cc33:stored", false},
	} {
		if got, err := s.Delete(ctx, tt.key); err != nil || got != tt.want {
			t.Errorf("Delete(%q) = %v, %v; want %v", tt.key, got, err, tt.want)
		}
	}
	if m, err := s.Get(ctx, part, "a0"); err != nil || m != nil {
		t.Errorf("Get of the deleted entry = %v, %v", m, err)
	}
	stored, expires := s.l.scopeKeys("cc33")
	for _, k := range []string{stored, expires} {
		if ids, err := s.client.ZRange(ctx, k, 0, -1).Result(); err != nil || len(ids) != 2 || ids[0] == "a0" || ids[1] == "a0" {
			t.Errorf("%s holds %q (%v), want the two entries left", k, ids, err)
		}
	}
	if st, err := s.Stats(ctx); err != nil || st.Entries != 2 {
		t.Errorf("Stats after the delete = %+v, %v", st, err)
	}
}

// TestIntegrationDeleteWhere: bulk deletes find entries with FT.SEARCH on
// the model tag, in batches, and keep the tenants' sorted sets in step.
func TestIntegrationDeleteWhere(t *testing.T) {
	forEachLayout(t, func(t *testing.T, s *Store) {
		if s.opts.Query == QueryKNN {
			t.Skip("the query mode does not change deletes")
		}
		s.opts.MaxEntriesPerScope = 2 * adminBatch
		ctx := context.Background()
		other := part
		other.Model = "ff00"
		// More than a batch of one model, so deletes take several rounds.
		n := adminBatch + 7
		for i := range n + 3 {
			e := newEntry(fmtID(i), v1, time.Hour)
			if i >= n {
				e.Partition = other
			}
			if i%2 == 0 {
				e.Vector = nil // exact-only entries go too
			}
			if err := s.Put(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.DeleteWhere(ctx, semantic.Filter{Model: part.Model}); err != nil || got != n {
			t.Fatalf("DeleteWhere(model) = %d, %v; want %d", got, err, n)
		}
		if m, err := s.Get(ctx, part, fmtID(1)); err != nil || m != nil {
			t.Errorf("Get of a deleted entry = %v, %v", m, err)
		}
		if ms, err := s.Search(ctx, semantic.Query{Partition: part, Vector: v1, MaxDistance: threshold}); err != nil || len(ms) != 0 {
			t.Errorf("Search after the delete = %d matches, %v", len(ms), err)
		}
		if m, err := s.Get(ctx, other, fmtID(n+1)); err != nil || m == nil {
			t.Errorf("the other model's entry went too: %v, %v", m, err)
		}
		stored, _ := s.l.scopeKeys(part.Scope)
		if c, err := s.client.ZCard(ctx, stored).Result(); err != nil || c != 3 {
			t.Errorf("the tenant's sorted set holds %d (%v), want the other model's 3", c, err)
		}
		if ok, err := s.Delete(ctx, s.l.key(fmtID(n))); err != nil || !ok {
			t.Errorf("Delete(%s) = %v, %v", s.l.key(fmtID(n)), ok, err)
		}
		if got, err := s.DeleteWhere(ctx, semantic.Filter{}); err != nil || got != 2 {
			t.Errorf("DeleteWhere(all) = %d, %v; want 2", got, err)
		}
		if st, err := s.Stats(ctx); err != nil || st.Entries != 0 {
			t.Errorf("Stats after deleting all = %+v, %v", st, err)
		}
	})
}

func fmtID(i int) string { return fmt.Sprintf("%04x", i) }
