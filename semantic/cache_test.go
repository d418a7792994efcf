package semantic

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestCache(t *testing.T, emb Embedder, store VectorStore, clk *clock) *Cache {
	t.Helper()
	c, err := NewCache(CacheOptions{Embedder: emb, Store: store, Threshold: 0.3, TTL: time.Hour, Dimensions: wordDims, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestMemory(t *testing.T, clk *clock, maxEntries int) *Memory {
	t.Helper()
	m, err := NewMemory(MemoryOptions{Namespace: "memory:words:64", MaxEntries: maxEntries, Dimensions: wordDims, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func req(window string) *Request {
	return &Request{API: "openai", Model: "gpt-4o", Window: window, Fingerprint: "fp"}
}

func TestCacheLookupOrder(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	emb := &wordEmbedder{}
	c := newTestCache(t, emb, newTestMemory(t, clk, 100), clk)

	miss := c.Get(ctx, Lookup{Request: req("what is the capital of France"), Scope: "a"})
	if miss.Status != StatusMiss {
		t.Fatalf("first lookup: %s %s", miss.Status, miss.Reason)
	}
	if err := c.Store(ctx, miss, Completion{Record: []byte("Paris"), Usage: Usage{InputTokens: 7, OutputTokens: 3}}, 0); err != nil {
		t.Fatal(err)
	}
	calls := emb.calls.Load()

	exact := c.Get(ctx, Lookup{Request: req("what is the capital of France"), Scope: "a"})
	if exact.Status != StatusHit || !exact.Exact || string(exact.Match.Completion) != "Paris" || exact.Match.Distance != 0 {
		t.Fatalf("exact lookup: %+v", exact)
	}
	if emb.calls.Load() != calls {
		t.Error("the exact layer called the embedder")
	}
	if exact.Match.InputTokens != 7 || exact.Match.Tokens != 3 {
		t.Errorf("hit reports %d input and %d output tokens, want the stored 7 and 3", exact.Match.InputTokens, exact.Match.Tokens)
	}
	if !strings.HasPrefix(exact.Match.Key, "semproc:memory:words:64:") {
		t.Errorf("key %q lacks the namespace", exact.Match.Key)
	}

	para := c.Get(ctx, Lookup{Request: req("what is the capital of France?!"), Scope: "a"})
	if para.Status != StatusHit || para.Exact {
		t.Fatalf("paraphrase: %+v", para)
	}
	far := c.Get(ctx, Lookup{Request: req("how do volcanoes erupt"), Scope: "a"})
	if far.Status != StatusMiss {
		t.Fatalf("unrelated prompt: %s", far.Status)
	}
}

func TestCachePartitions(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := newTestCache(t, &wordEmbedder{}, newTestMemory(t, clk, 100), clk)
	stored := c.Get(ctx, Lookup{Request: req("tell me a joke"), Scope: "tenant-a"})
	if err := c.Store(ctx, stored, Completion{Record: []byte("joke"), Usage: Usage{OutputTokens: 1}}, 0); err != nil {
		t.Fatal(err)
	}
	other := func(mut func(*Request), scope string) Status {
		r := req("tell me a joke")
		mut(r)
		return c.Get(ctx, Lookup{Request: r, Scope: scope}).Status
	}
	tests := []struct {
		name  string
		mut   func(*Request)
		scope string
		want  Status
	}{
		{"same everything", func(*Request) {}, "tenant-a", StatusHit},
		{"other tenant", func(*Request) {}, "tenant-b", StatusMiss},
		{"other model", func(r *Request) { r.Model = "gpt-4o-mini" }, "tenant-a", StatusMiss},
		{"other API", func(r *Request) { r.API = "anthropic" }, "tenant-a", StatusMiss},
		{"other fingerprint", func(r *Request) { r.Fingerprint = "fp2" }, "tenant-a", StatusMiss},
	}
	for _, tt := range tests {
		if got := other(tt.mut, tt.scope); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestCacheControls(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := newTestCache(t, &wordEmbedder{}, newTestMemory(t, clk, 100), clk)

	r := c.Get(ctx, Lookup{Request: req("explain monads"), Scope: "s", NoCache: true})
	if r.Status != StatusRefresh {
		t.Fatalf("no-cache: %s", r.Status)
	}
	if err := c.Store(ctx, r, Completion{Record: []byte("v1"), Usage: Usage{OutputTokens: 1}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	hit := c.Get(ctx, Lookup{Request: req("explain monads"), Scope: "s"})
	if hit.Status != StatusHit || hit.Match.ExpiresAt != clk.t.Add(10*time.Second) {
		t.Fatalf("refreshed entry with response max-age 10s: %+v", hit)
	}
	clk.t = clk.t.Add(5 * time.Second)
	if s := c.Get(ctx, Lookup{Request: req("explain monads"), Scope: "s", MaxAge: 2 * time.Second, HasMaxAge: true}).Status; s != StatusMiss {
		t.Errorf("request max-age 2s on a 5s-old entry: %s", s)
	}
	if s := c.Get(ctx, Lookup{Request: req("explain monads please"), Scope: "s", MaxAge: 2 * time.Second, HasMaxAge: true}).Status; s != StatusMiss {
		t.Errorf("request max-age on the semantic layer: %s", s)
	}
	clk.t = clk.t.Add(5 * time.Second)
	if s := c.Get(ctx, Lookup{Request: req("explain monads"), Scope: "s"}).Status; s != StatusMiss {
		t.Errorf("expired entry: %s", s)
	}
	bypass := req("x")
	bypass.Bypass = "non-text content in the window"
	if r := c.Get(ctx, Lookup{Request: bypass}); r.Status != StatusBypass || r.Reason == "" {
		t.Errorf("bypass: %+v", r)
	}
	if err := c.Store(ctx, hit, Completion{Record: nil, Usage: Usage{}}, 0); err == nil {
		t.Error("storing a Hit result must fail")
	}
}

func TestCacheFailures(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	down := errors.New("embeddings 500")
	tests := []struct {
		name  string
		emb   Embedder
		store VectorStore
		want  error
	}{
		{"embedder down", &wordEmbedder{err: down}, newTestMemory(t, clk, 10), down},
		{"store down", &wordEmbedder{}, failingStore{}, errStoreDown},
		{"wrong dimension", EmbedderFunc(func(context.Context, string) ([]float32, error) { return []float32{1, 2}, nil }), newTestMemory(t, clk, 10), ErrDimension},
		{"zero vector", EmbedderFunc(func(context.Context, string) ([]float32, error) { return make([]float32, wordDims), nil }), newTestMemory(t, clk, 10), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestCache(t, tt.emb, tt.store, clk).Get(ctx, Lookup{Request: req("hello there")})
			if r.Status != StatusFailed || r.Err == nil {
				t.Fatalf("got %+v, want Failed", r)
			}
			if tt.want != nil && !errors.Is(r.Err, tt.want) {
				t.Errorf("error %v does not wrap %v", r.Err, tt.want)
			}
		})
	}
}

func TestCacheLongWindowIsExactOnly(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	emb := &limitedEmbedder{wordEmbedder{limit: 4}}
	c := newTestCache(t, emb, newTestMemory(t, clk, 10), clk)
	long := "one two three four five six"
	r := c.Get(ctx, Lookup{Request: req(long)})
	if r.Status != StatusMiss {
		t.Fatal(r.Status)
	}
	if err := c.Store(ctx, r, Completion{Record: []byte("a"), Usage: Usage{OutputTokens: 1}}, 0); err != nil {
		t.Fatal(err)
	}
	if emb.calls.Load() != 0 {
		t.Error("a window over the input limit was embedded")
	}
	// Same first four words, different tail: the embedder would see the same
	// text, so only the exact layer may answer.
	if s := c.Get(ctx, Lookup{Request: req("one two three four nine ten")}).Status; s != StatusMiss {
		t.Errorf("long prompts sharing a prefix matched: %s", s)
	}
	if s := c.Get(ctx, Lookup{Request: req(long)}).Status; s != StatusHit {
		t.Errorf("exact repeat of a long window: %s", s)
	}
}

func TestFormatDistance(t *testing.T) {
	tests := []struct {
		d     float64
		exact bool
		want  string
	}{
		{0, true, "0"}, {0, false, "0.0001"}, {0.00001, false, "0.0001"}, {0.123456, false, "0.1235"}, {0.05, false, "0.05"}, {1.5, false, "1.5"},
	}
	for _, tt := range tests {
		if got := FormatDistance(tt.d, tt.exact); got != tt.want {
			t.Errorf("FormatDistance(%v, %v) = %q, want %q", tt.d, tt.exact, got, tt.want)
		}
	}
}

func TestScopeSeparatesValues(t *testing.T) {
	if Scope([]string{"ab", "c"}) == Scope([]string{"a", "bc"}) {
		t.Error("value boundaries are not part of the scope hash")
	}
	if Scope(nil) != Scope([]string{}) {
		t.Error("anonymous scope differs")
	}
}

func TestCacheNumbersMustMatchForSemanticHits(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := newTestCache(t, &wordEmbedder{}, newTestMemory(t, clk, 10), clk)
	r := c.Get(ctx, Lookup{Request: req("what is 5 times 12 please")})
	if err := c.Store(ctx, r, Completion{Record: []byte("60"), Usage: Usage{OutputTokens: 1}}, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		window string
		want   Status
	}{
		{"what is 5 times 12 please", StatusHit},     // exact
		{"what is 5 times 12 please now", StatusHit}, // semantic, same numbers
		{"what is 05 times 12 please now", StatusHit},
		{"what is 6 times 12 please", StatusMiss},
		{"what is 5 times 12 or 3 please", StatusMiss},
		{"what is five times twelve please", StatusHit}, // number words are numbers
		{"what is six times twelve please", StatusMiss},
	}
	for _, tt := range tests {
		if got := c.Get(ctx, Lookup{Request: req(tt.window)}).Status; got != tt.want {
			t.Errorf("%q: %s, want %s", tt.window, got, tt.want)
		}
	}
}

// A nearest entry that the numbers guard rejects must not hide a farther
// one that answers the question.
func TestCacheChecksCandidatesBeyondTheNearest(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := newTestCache(t, &wordEmbedder{}, newTestMemory(t, clk, 10), clk)
	for _, e := range []struct{ window, answer string }{
		{"what is 6 times 12 please now", "72"}, // nearer, other numbers
		{"so what is 5 times 12", "60"},         // farther, the same question
	} {
		r := c.Get(ctx, Lookup{Request: req(e.window)})
		if err := c.Store(ctx, r, Completion{Record: []byte(e.answer), Usage: Usage{OutputTokens: 1}}, 0); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Get(ctx, Lookup{Request: req("what is 5 times 12 please now")})
	if r.Status != StatusHit || string(r.Match.Completion) != "60" {
		t.Fatalf("Get = %s %+v; want a hit on the second candidate", r.Status, r.Match)
	}
	if r.Match.Distance < 0.15 || r.Match.Distance > 0.3 {
		t.Errorf("distance %v; want the farther entry's (≈0.23)", r.Match.Distance)
	}
}

// Threshold 0 is the exact layer alone: nothing is embedded, a paraphrase
// misses, the same window hits.
func TestCacheThresholdZeroIsExactOnly(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	emb := &wordEmbedder{}
	c, err := NewCache(CacheOptions{Embedder: emb, Store: newTestMemory(t, clk, 10), Threshold: 0, TTL: time.Hour, Dimensions: wordDims, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Get(ctx, Lookup{Request: req("what is the capital of france")})
	if err := c.Store(ctx, r, Completion{Record: []byte("Paris"), Usage: Usage{OutputTokens: 1}}, 0); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(ctx, Lookup{Request: req("what is the capital of france please")}).Status; got != StatusMiss {
		t.Errorf("near window: %s, want Miss", got)
	}
	if r := c.Get(ctx, Lookup{Request: req("what is the capital of france")}); r.Status != StatusHit || !r.Exact {
		t.Errorf("same window: %s exact=%v, want an exact Hit", r.Status, r.Exact)
	}
	if n := emb.calls.Load(); n != 0 {
		t.Errorf("embedder called %d times; want none", n)
	}
}

// The verifier sees every candidate within the threshold, nearest first,
// told how many other entries lie within it and whether it found a nearer
// one to ask something else, and the result lists its verdicts.
func TestCacheAsksTheVerifier(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	refuser := &refuse{text: "what is the capital of france"}
	c, err := NewCache(CacheOptions{Embedder: &wordEmbedder{}, Store: newTestMemory(t, clk, 10), Threshold: 0.5,
		TTL: time.Hour, Dimensions: wordDims, Now: clk.now, Verifier: refuser})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"what is the capital of france", "so what is the capital city of france"} {
		if err := c.Store(ctx, c.Get(ctx, Lookup{Request: req(w)}), Completion{Record: []byte(w), Usage: Usage{OutputTokens: 1}}, 0); err != nil {
			t.Fatal(err)
		}
	}
	refuser.asked = nil
	r := c.Get(ctx, Lookup{Request: req("what is the capital of france now")})
	if r.Status != StatusHit || r.Match.Window != "so what is the capital city of france" {
		t.Fatalf("Get = %s %+v; want the second candidate", r.Status, r.Match)
	}
	if len(r.Candidates) != 2 || r.Candidates[0].Verdict.Accept || !r.Candidates[1].Verdict.Accept ||
		r.Candidates[0].Distance > r.Candidates[1].Distance || r.Candidates[0].Key == "" {
		t.Errorf("candidates = %+v; want the refused nearest, then the accepted one", r.Candidates)
	}
	if len(refuser.asked) != 2 || refuser.asked[0].Neighbours != 1 || refuser.asked[1].Neighbours != 1 {
		t.Errorf("the verifier was asked %+v; want each candidate with the other as its one neighbour", refuser.asked)
	}
	if len(refuser.asked) == 2 && (refuser.asked[0].NearerDiffers || !refuser.asked[1].NearerDiffers) {
		t.Errorf("the verifier was asked %+v; want the second told that it refused the first", refuser.asked)
	}
}

// TestStoredKeysKeepTheirForm pins the hashes that name stored entries and
// tenants (Redis keys, X-Cache-Key): a change would orphan every entry.
func TestStoredKeysKeepTheirForm(t *testing.T) {
	scope := Scope([]string{"authorization", "Bearer a"})
	p := Partition{Model: hashHex("gpt-4o"), API: hashHex("openai"), Scope: scope, Fingerprint: "fp"}
	key := keyOf("tenant", "the same prompt")
	for _, tt := range []struct{ name, got, want string }{
		{"scope", scope, "433eb350815f0d4a469742606e5d4304e1b895f8bb7d05268ef2342fd4c418a1"},
		{"anonymous scope", Scope(nil), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"entry ID", entryID(p, "user: what is 2+2?"), "aab8c5152dbf6bd8335869ae622c53b05c4c32386305a1701b76f36f0f611d9f"},
		{"embedding key", hex.EncodeToString(key[:]), "5a039fd1dc57306e13eac5949061ef615c5a3bf294591d1720190be0a7f7b89a"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}
