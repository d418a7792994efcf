package semantic

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestMemoryAdmin(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	a, b := Partition{Model: ModelTag("gpt-4o"), Scope: "s"}, Partition{Model: ModelTag("gpt-4o-mini"), Scope: "s"}
	fill := func(t *testing.T) *Memory {
		t.Helper()
		m := newTestMemory(t, clk, 10)
		for i, e := range []Entry{
			{ID: "a1", Partition: a, Vector: unit(0)}, {ID: "a2", Partition: a}, {ID: "b1", Partition: b, Vector: unit(1)},
			{ID: "b-old", Partition: b, Vector: unit(2), TTL: time.Second},
		} {
			e.StoredAt = clk.t.Add(-time.Minute + time.Duration(i))
			if e.TTL == 0 {
				e.TTL = time.Hour
			}
			if err := m.Put(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	key := func(id string) string { return "semproc:memory:words:64:" + id }

	t.Run("delete by key", func(t *testing.T) {
		m := fill(t)
		for _, tt := range []struct {
			key  string
			want bool
		}{
			{key("a1"), true}, {key("a1"), false}, {key("nope"), false}, {"semproc:other:ns:a2", false}, {key("b-old"), false},
		} {
			if got := must(m.Delete(ctx, tt.key)); got != tt.want {
				t.Errorf("Delete(%q) = %v, want %v", tt.key, got, tt.want)
			}
		}
		if got, _ := m.Get(ctx, a, "a1"); got != nil {
			t.Error("Get found the deleted entry")
		}
		if got := must(m.Search(ctx, Query{Partition: a, Vector: unit(0), MaxDistance: 0.1})); len(got) != 0 {
			t.Errorf("Search found %d entries after the delete", len(got))
		}
		if got, _ := m.Get(ctx, a, "a2"); got == nil {
			t.Error("a2 went with a1")
		}
		if m.Len() != 2 || m.Bytes() != EntryBytes(Entry{ID: "a2"})+EntryBytes(Entry{ID: "b1", Vector: unit(1)}) {
			t.Errorf("after deletes: %d entries of %d bytes", m.Len(), m.Bytes())
		}
	})

	t.Run("delete by model and all", func(t *testing.T) {
		m := fill(t)
		if n := must(m.DeleteWhere(ctx, Filter{Model: b.Model})); n != 1 {
			t.Errorf("DeleteWhere(model b) = %d, want 1 (the expired one is not counted)", n)
		}
		if got := must(m.Search(ctx, Query{Partition: b, Vector: unit(1), MaxDistance: 0.1})); len(got) != 0 {
			t.Errorf("Search of model b found %d entries", len(got))
		}
		if m.Len() != 2 {
			t.Errorf("Len = %d, want model a's 2", m.Len())
		}
		if n := must(m.DeleteWhere(ctx, Filter{})); n != 2 || m.Len() != 0 || m.Bytes() != 0 {
			t.Errorf("DeleteWhere(all) = %d, left %d entries of %d bytes", n, m.Len(), m.Bytes())
		}
		// The store still works once emptied.
		if err := m.Put(ctx, Entry{ID: "a3", Partition: a, Vector: unit(3), StoredAt: clk.t, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if got := must(m.Search(ctx, Query{Partition: a, Vector: unit(3), MaxDistance: 0.1})); len(got) != 1 {
			t.Errorf("Search after a put into the emptied store found %d", len(got))
		}
	})

	t.Run("stats", func(t *testing.T) {
		m := fill(t)
		a1, a2 := EntryBytes(Entry{ID: "a1", Vector: unit(0)}), EntryBytes(Entry{ID: "a2"})
		b1 := EntryBytes(Entry{ID: "b1", Vector: unit(1)})
		want := Stats{Namespace: "memory:words:64", Entries: 3, Bytes: a1 + a2 + b1, Models: []ModelStats{{a.Model, 2, a1 + a2}, {b.Model, 1, b1}}}
		if want.Models[0].Model > want.Models[1].Model {
			want.Models[0], want.Models[1] = want.Models[1], want.Models[0]
		}
		if got := must(m.Stats(ctx)); !reflect.DeepEqual(got, want) {
			t.Errorf("Stats = %+v\nwant %+v", got, want)
		}
	})
}
