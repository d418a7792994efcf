package semantic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// vocabEmbedder is a deterministic bag-of-words embedder over a fixed
// vocabulary: one dimension per word, words outside it ignored, so
// distances can be worked out by hand.
type vocabEmbedder struct {
	vocab map[string]int
	down  atomic.Bool
	calls atomic.Int64
	// extra, when set, is added to the dimension of every vector.
	extra int
}

var _ Embedder = (*vocabEmbedder)(nil)

var errEmbedderDown = errors.New("embeddings provider down")

func newVocabEmbedder() *vocabEmbedder {
	words := strings.Fields("algebra calculus prove theorem python code chat weather poem haiku")
	e := &vocabEmbedder{vocab: map[string]int{}}
	for i, w := range words {
		e.vocab[w] = i
	}
	return e
}

func (e *vocabEmbedder) Embed(_ context.Context, text string) ([]float32, error) {
	e.calls.Add(1)
	if e.down.Load() {
		return nil, errEmbedderDown
	}
	v := make([]float32, len(e.vocab)+e.extra)
	for _, w := range strings.Fields(text) {
		if i, ok := e.vocab[w]; ok {
			v[i]++
		}
	}
	return v, nil
}

func routeTestTargets() []Target {
	return []Target{
		{Name: "math", Model: "gpt-4o", Descriptions: []string{"algebra calculus", "prove theorem"}, Threshold: 0.2},
		{Name: "code", Model: "coder", Descriptions: []string{"python code"}},
		{Name: "general", Model: "gpt-4o-mini", Descriptions: []string{"chat"}, CatchAll: true},
		{Name: "claude-chat", Model: "claude-haiku", Descriptions: []string{"chat"}, API: "anthropic"},
		{Name: "claude-math", Model: "claude-opus", Descriptions: []string{"algebra calculus"}, API: "anthropic"},
		{Name: "poet", Model: "claude-sonnet", Descriptions: []string{"poem haiku"}, API: "anthropic"},
	}
}

// newStartedRouter returns a router whose descriptions are embedded.
func newStartedRouter(t *testing.T, emb Embedder, mode string) *Router {
	t.Helper()
	r, err := NewRouter(RouterOptions{Targets: routeTestTargets(), Embedder: emb, Threshold: 0.7, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	r.Start(context.Background())
	select {
	case <-r.Ready():
	default:
		t.Fatal("router not ready after a successful Start")
	}
	return r
}

func TestRoute(t *testing.T) {
	// Distances by hand: "algebra weather" is 1 − 1/(√2·√2) = 0.5 from
	// "algebra calculus"; "algebra calculus python weather" is
	// 1 − 2/(2·√2) ≈ 0.293 from math and 1 − 1/(2·√2) ≈ 0.646 from code.
	cases := []struct {
		name, mode, api, model, text string
		target, wantModel, reason    string
		distance                     float64
		embeds                       int64 // embeddings calls for the text
	}{
		{"auto, no model", "auto", "openai", "", "algebra calculus", "math", "gpt-4o", RouteSimilar, 0, 1},
		{"auto, model auto", "auto", "openai", "auto", "python code", "code", "coder", RouteSimilar, 0, 1},
		{"auto, explicit model left alone", "auto", "openai", "gpt-3.5-turbo", "algebra calculus", "", "gpt-3.5-turbo", RouteOwnModel, 0, 0},
		{"always, explicit model routed", "always", "openai", "gpt-3.5-turbo", "algebra calculus", "math", "gpt-4o", RouteSimilar, 0, 1},
		{"always, nothing near, own model kept", "always", "openai", "gpt-3.5-turbo", "weather", "", "gpt-3.5-turbo", RouteOwnModel, 1, 1},
		{"always, nothing near, no model: catch-all", "always", "openai", "", "weather", "general", "gpt-4o-mini", RouteCatchAll, 1, 1},
		{"auto, nothing near: catch-all", "auto", "openai", "auto", "weather", "general", "gpt-4o-mini", RouteCatchAll, 1, 1},
		{"per-target threshold excludes the nearest", "auto", "openai", "", "algebra calculus python weather", "code", "coder", RouteSimilar, 1 - 1/(2*math.Sqrt2), 1},
		{"beyond its own threshold, within the default", "auto", "openai", "", "algebra weather", "general", "gpt-4o-mini", RouteCatchAll, 0.5, 1},
		{"second description counts", "auto", "openai", "", "prove theorem", "math", "gpt-4o", RouteSimilar, 0, 1},
		{"api defaults to openai", "auto", "", "", "python code", "code", "coder", RouteSimilar, 0, 1},
		{"anthropic targets only", "auto", "anthropic", "", "algebra calculus", "claude-math", "claude-opus", RouteSimilar, 0, 1},
		{"anthropic: no catch-all, first target", "auto", "anthropic", "", "weather", "claude-chat", "claude-haiku", RouteFirstTarget, 1, 1},
		{"openai request never gets an anthropic target", "auto", "openai", "", "poem haiku", "general", "gpt-4o-mini", RouteCatchAll, 1, 1},
		{"api without targets", "auto", "bedrock", "", "algebra calculus", "", "", RouteNoTargets, 0, 0},
		{"api without targets keeps the model", "always", "bedrock", "m", "algebra calculus", "", "m", RouteNoTargets, 0, 0},
		{"no text: fallback without a call", "auto", "openai", "", "  ", "general", "gpt-4o-mini", RouteCatchAll, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			emb := newVocabEmbedder()
			r := newStartedRouter(t, emb, c.mode)
			before := emb.calls.Load()
			d := r.Route(context.Background(), c.api, c.model, c.text)
			if d.Err != nil {
				t.Errorf("Err = %v", d.Err)
			}
			if d.Target != c.target || d.Model != c.wantModel || d.Reason != c.reason {
				t.Errorf("decision %+v, want target %q model %q reason %q", d, c.target, c.wantModel, c.reason)
			}
			if d.Routed != (c.target != "") {
				t.Errorf("Routed = %v with target %q", d.Routed, d.Target)
			}
			if math.Abs(d.Distance-c.distance) > 1e-6 {
				t.Errorf("Distance = %v, want %v", d.Distance, c.distance)
			}
			if n := emb.calls.Load() - before; n != c.embeds {
				t.Errorf("%d embeddings calls, want %d", n, c.embeds)
			}
		})
	}
}

func TestRouteFailuresFallBack(t *testing.T) {
	cases := []struct {
		name    string
		break_  func(*vocabEmbedder)
		text    string
		model   string
		mode    string
		target  string
		model2  string
		wantErr error
	}{
		{"embedder down", func(e *vocabEmbedder) { e.down.Store(true) }, "algebra calculus", "", "auto", "general", "gpt-4o-mini", errEmbedderDown},
		{"embedder down, always, own model", func(e *vocabEmbedder) { e.down.Store(true) }, "algebra calculus", "gpt-3.5", "always", "", "gpt-3.5", errEmbedderDown},
		{"wrong dimension", func(e *vocabEmbedder) { e.extra = 1 }, "algebra calculus", "", "auto", "general", "gpt-4o-mini", ErrDimension},
		{"zero vector", func(*vocabEmbedder) {}, "unknown words only", "", "auto", "general", "gpt-4o-mini", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			emb := newVocabEmbedder()
			r := newStartedRouter(t, emb, c.mode)
			c.break_(emb)
			d := r.Route(context.Background(), "openai", c.model, c.text)
			if d.Err == nil || (c.wantErr != nil && !errors.Is(d.Err, c.wantErr)) {
				t.Errorf("Err = %v, want %v", d.Err, c.wantErr)
			}
			if d.Target != c.target || d.Model != c.model2 {
				t.Errorf("decision %+v, want target %q model %q", d, c.target, c.model2)
			}
		})
	}
}

// newRouterWhileDown is a router, not started, whose embedder is down
// until the test sets emb.down to false.
func newRouterWhileDown(t *testing.T) (*vocabEmbedder, *Router) {
	t.Helper()
	emb := newVocabEmbedder()
	emb.down.Store(true)
	r, err := NewRouter(RouterOptions{Targets: routeTestTargets(), Embedder: emb, RetryInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return emb, r
}

func TestRouterRecoversInBackground(t *testing.T) {
	emb, r := newRouterWhileDown(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx)
	select {
	case <-r.Ready():
		t.Fatal("ready while the embedder is down")
	default:
	}
	d := r.Route(ctx, "openai", "", "algebra calculus")
	if !errors.Is(d.Err, ErrRouterNotReady) || d.Target != "general" || d.Reason != RouteCatchAll {
		t.Errorf("while down: %+v, want the catch-all with ErrRouterNotReady", d)
	}
	if _, err := r.Distances(ctx, "openai", "algebra calculus"); !errors.Is(err, ErrRouterNotReady) {
		t.Errorf("Distances while down: %v, want ErrRouterNotReady", err)
	}

	emb.down.Store(false)
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("descriptions never embedded after the embedder came back")
	}
	r.Wait() // the retry goroutine ends on success, without a cancel
	if d := r.Route(ctx, "openai", "", "algebra calculus"); d.Target != "math" || d.Err != nil {
		t.Errorf("after recovery: %+v, want math", d)
	}
}

func TestRouterRetryStopsWithContext(t *testing.T) {
	emb, r := newRouterWhileDown(t)
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	cancel()
	r.Wait() // hangs, and the test times out, if the goroutine leaks
	calls := emb.calls.Load()
	r.Start(context.Background()) // a second Start does nothing
	if emb.calls.Load() != calls {
		t.Error("a second Start embedded again")
	}
	select {
	case <-r.Ready():
		t.Error("ready although the embedder never answered")
	default:
	}
}

func TestRouterConcurrentUseWhileLoading(t *testing.T) {
	emb, r := newRouterWhileDown(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); r.Wait() }()
	r.Start(ctx)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if i == 100 && g == 0 {
					emb.down.Store(false)
				}
				d := r.Route(ctx, "openai", "", "python code")
				if d.Target != "code" && d.Target != "general" {
					t.Errorf("decision %+v: neither the match nor the fallback", d)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestDistances(t *testing.T) {
	r := newStartedRouter(t, newVocabEmbedder(), "auto")
	got, err := r.Distances(context.Background(), "openai", "prove theorem python")
	if err != nil {
		t.Fatal(err)
	}
	// math: 1 − 2/(√3·√2) via "prove theorem"; code: 1 − 1/(√3·√2).
	want := []TargetDistance{
		{Name: "math", Model: "gpt-4o", Distance: 1 - 2/math.Sqrt(6), Threshold: 0.2, Description: 1, Within: true},
		{Name: "code", Model: "coder", Distance: 1 - 1/math.Sqrt(6), Threshold: 0.7, Description: 0, Within: true},
		{Name: "general", Model: "gpt-4o-mini", Distance: 1, Threshold: 0.7, Description: 0, Within: false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Model != w.Model || g.Threshold != w.Threshold || g.Description != w.Description || g.Within != w.Within || math.Abs(g.Distance-w.Distance) > 1e-6 {
			t.Errorf("distance %d = %+v, want %+v", i, g, w)
		}
	}
	if _, err := r.Distances(context.Background(), "bedrock", "x"); err == nil {
		t.Error("Distances for an api without targets: no error")
	}
}

func TestNewRouterOptions(t *testing.T) {
	emb := newVocabEmbedder()
	cases := []struct {
		name string
		o    RouterOptions
		want []string
	}{
		{"nothing", RouterOptions{}, []string{"no targets", "no embedder"}},
		{"bad values", RouterOptions{Targets: routeTestTargets(), Embedder: emb, Threshold: 3, Mode: "sometimes", RetryInterval: -1}, []string{"threshold must be in (0, 2]", `mode must be "auto" or "always"`, "retry interval"}},
		{"NaN threshold", RouterOptions{Targets: routeTestTargets(), Embedder: emb, Threshold: math.NaN()}, []string{"threshold must be in (0, 2], got NaN"}},
		{"bad targets", RouterOptions{Targets: []Target{{Name: "a", Model: "m"}, {Name: "a", Model: "m", Descriptions: []string{"d"}, API: "azure"}}, Embedder: emb}, []string{
			`targets[0] ("a") descriptions: at least one is required`, `targets[1] ("a") name: duplicate of targets[0]`, `targets[1] ("a") api:`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewRouter(c.o)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// tableEmbedder answers with the vector stored for a text, else with
// other, as a warm embeddings cache does: no allocation.
type tableEmbedder struct {
	vectors map[string][]float32
	other   []float32
}

var _ Embedder = (*tableEmbedder)(nil)

func (e *tableEmbedder) Embed(_ context.Context, text string) ([]float32, error) {
	if v, ok := e.vectors[text]; ok {
		return v, nil
	}
	return e.other, nil
}

func TestRouteDoesNotAllocate(t *testing.T) {
	r := benchRouter(t, 8, 4, 64)
	allocs := testing.AllocsPerRun(100, func() {
		if d := r.Route(context.Background(), "openai", "", "text"); d.Err != nil {
			t.Fatal(d.Err)
		}
	})
	if allocs != 0 {
		t.Errorf("Route allocates %v times per call, want 0", allocs)
	}
}

// benchRouter builds a router of n targets with k descriptions each, in
// dims dimensions, ready to route.
func benchRouter(tb testing.TB, n, k, dims int) *Router {
	tb.Helper()
	vec := func(seed int) []float32 {
		v := make([]float32, dims)
		for i := range v {
			v[i] = float32(math.Sin(float64(seed*dims + i)))
		}
		return v
	}
	emb := &tableEmbedder{vectors: map[string][]float32{}, other: vec(0)}
	var targets []Target
	for i := range n {
		t := Target{Name: fmt.Sprintf("t%d", i), Model: "m"}
		for j := range k {
			d := fmt.Sprintf("t%d/d%d", i, j)
			emb.vectors[d] = vec(i*k + j + 1)
			t.Descriptions = append(t.Descriptions, d)
		}
		targets = append(targets, t)
	}
	r, err := NewRouter(RouterOptions{Targets: targets, Embedder: emb})
	if err != nil {
		tb.Fatal(err)
	}
	r.Start(context.Background())
	return r
}

func BenchmarkRoute(b *testing.B) {
	for _, size := range []struct{ n, k, dims int }{{5, 3, 384}, {20, 5, 1536}} {
		b.Run(fmt.Sprintf("%dtargets_%ddescs_%ddims", size.n, size.k, size.dims), func(b *testing.B) {
			r := benchRouter(b, size.n, size.k, size.dims)
			b.ReportAllocs()
			for b.Loop() {
				r.Route(context.Background(), "openai", "", "text")
			}
		})
	}
}
