package local

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
	"github.com/semproc/semproc/semantic/vecmath"
)

// TestMemoryStoreExactOnGPTCache checks that the in-process store's
// quantised search returns what an exact float32 scan does, on real
// embeddings: the GPTCache origins stored, every paraphrase asked, at the
// default threshold and looser ones, for the nearest and the nearest five.
func TestMemoryStoreExactOnGPTCache(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 1,500 texts")
	}
	e := testEmbedder(t)
	f, err := os.Open(gptcacheData)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := semantic.ReadEvalSet(f)
	if err != nil {
		t.Fatal(err)
	}
	vecs := embedAll(t, e, set)
	unit := func(text string) []float32 {
		v, err := semantic.Normalize(vecs.vectors[text])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ctx := context.Background()
	m, err := semantic.NewMemory(semantic.MemoryOptions{MaxEntries: len(set.Stored), Dimensions: Dimensions})
	if err != nil {
		t.Fatal(err)
	}
	p := semantic.Partition{Scope: "gptcache"}
	stored := make([][]float32, len(set.Stored))
	for i, text := range set.Stored {
		stored[i] = unit(text)
		if err := m.Put(ctx, semantic.Entry{ID: fmt.Sprint(i), Partition: p, Vector: stored[i], StoredAt: time.Now(), TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	type hit struct {
		id   string
		dist float64
	}
	var checked int
	for _, threshold := range []float64{CacheDistanceThreshold, 0.1, 0.3} {
		for _, k := range []int{1, 5} {
			for _, query := range set.Queries {
				qv := unit(query.Text)
				var want []hit
				for i, v := range stored {
					if d := 1 - float64(vecmath.Dot(qv, v)); d <= threshold {
						want = append(want, hit{fmt.Sprint(i), max(d, 0)})
					}
				}
				slices.SortFunc(want, func(a, b hit) int { return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.id, b.id)) })
				want = want[:min(len(want), k)]
				got, err := m.Search(ctx, semantic.Query{Partition: p, Vector: qv, MaxDistance: threshold, K: k})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("threshold %g, k=%d, %q: %d matches, exact scan %d", threshold, k, query.Text, len(got), len(want))
				}
				for i := range got {
					if got[i].ID != want[i].id || got[i].Distance != want[i].dist {
						t.Fatalf("threshold %g, k=%d, %q: match %d is %s at %g, exact scan %s at %g",
							threshold, k, query.Text, i, got[i].ID, got[i].Distance, want[i].id, want[i].dist)
					}
				}
				checked += len(got)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no query had a match within any threshold: nothing was compared")
	}
	t.Logf("%d matches compared with the exact scan", checked)
}
