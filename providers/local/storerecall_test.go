package local

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/semproc/semproc/internal/race"
	"github.com/semproc/semproc/semantic"
	"github.com/semproc/semproc/semantic/vecmath"
)

// TestMemoryStoreExactOnGPTCache checks that the in-process store's
// quantised search returns what an exact float32 scan does, on real
// embeddings: the GPTCache origins stored, every paraphrase asked, at the
// default threshold and looser ones, for the nearest and the nearest five.
// Beside each origin the store holds four near copies of it (noise at
// cosine distances of about 0.005 to 0.2), so that the partition is large
// enough for the store's sign pre-filter and every query has close rivals.
func TestMemoryStoreExactOnGPTCache(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 1,500 texts")
	}
	if race.Enabled {
		t.Skip("a measurement, not a concurrency test: it runs without -race (make test; CI runs it so after the race run)")
	}
	e := testEmbedder(t)
	set, err := semantic.ReadEvalFile(gptcacheData)
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
	p := semantic.Partition{Scope: "gptcache"}
	var stored [][]float32
	r := rand.New(rand.NewPCG(1, 2))
	for _, text := range set.Stored {
		v := unit(text)
		stored = append(stored, v)
		for _, noise := range []float64{0.005, 0.01, 0.02, 0.04} {
			near := make([]float32, len(v))
			for j := range v {
				near[j] = v[j] + float32(noise*r.NormFloat64())
			}
			near, err := semantic.Normalize(near)
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, near)
		}
	}
	m, err := semantic.NewMemory(semantic.MemoryOptions{MaxEntries: len(stored), Dimensions: Dimensions})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range stored {
		if err := m.Put(ctx, semantic.Entry{ID: fmt.Sprint(i), Partition: p, Vector: v, StoredAt: time.Now(), TTL: time.Hour}); err != nil {
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
