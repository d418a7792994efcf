package semantic

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// After the embeddings' size changed, Reload embeds the descriptions again
// and routing compares texts with them once more.
func TestRouterReloadFollowsANewDimension(t *testing.T) {
	var doubled atomic.Bool // the same directions, in twice the dimensions
	words := &wordEmbedder{}
	emb := EmbedderFunc(func(ctx context.Context, text string) ([]float32, error) {
		v, err := words.Embed(ctx, text)
		if doubled.Load() {
			v = append(v, v...)
		}
		return v, err
	})
	r, err := NewRouter(RouterOptions{Targets: routeTestTargets(), Embedder: emb, Threshold: 0.7, RetryInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.Start(ctx)
	prompt := "algebra calculus"
	want := r.Route(ctx, "openai", "auto", prompt)
	if want.Err != nil || want.Reason != RouteSimilar {
		t.Fatalf("before the change: %+v", want)
	}
	doubled.Store(true)
	if d := r.Route(ctx, "openai", "auto", prompt); d.Err == nil {
		t.Fatalf("with descriptions of the old size: %+v, want a dimension error", d)
	}
	r.Reload(ctx)
	r.Wait()
	if d := r.Route(ctx, "openai", "auto", prompt); d.Err != nil || d.Reason != RouteSimilar {
		t.Errorf("after Reload: %+v", d)
	}
}
