package local

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testEmbedder loads the real model, or skips: the weights are not in the
// repository, and `make model` fetches them (CI always has them).
func testEmbedder(tb testing.TB) *Embedder {
	tb.Helper()
	dir := os.Getenv("SEMPROC_EMBEDDINGS_MODEL_DIR")
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			tb.Fatal(err)
		}
		dir = d
	}
	e, err := Load(dir)
	if errors.Is(err, ErrModelMissing) {
		tb.Skipf("local model not in %s: run `make model` to fetch it (or set SEMPROC_EMBEDDINGS_MODEL_DIR)", dir)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

type reference struct {
	Items []struct {
		Text      string    `json:"text"`
		Tokens    []int     `json:"tokens"`
		Embedding []float64 `json:"embedding"`
	} `json:"items"`
	Cosines []struct {
		A, B   string
		Cosine float64
	} `json:"cosines"`
}

// readReference reads testdata/reference.json, written by
// testdata/refgen/gen.js from the original JavaScript implementation.
func readReference(t *testing.T) reference {
	t.Helper()
	raw, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Items) == 0 || len(ref.Cosines) != 3 {
		t.Fatalf("reference.json: %d items, %d cosines", len(ref.Items), len(ref.Cosines))
	}
	return ref
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for k := range a {
		dot += float64(a[k]) * float64(b[k])
		na += float64(a[k]) * float64(a[k])
		nb += float64(b[k]) * float64(b[k])
	}
	return dot / math.Sqrt(na*nb)
}

func TestParityWithJavaScript(t *testing.T) {
	e := testEmbedder(t)
	ref := readReference(t)
	ctx := context.Background()
	vectors := map[string][]float32{}
	worst := 0.0
	for _, it := range ref.Items {
		name := it.Text
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			if got := e.tok.encode(it.Text); !slices.Equal(got, it.Tokens) {
				t.Fatalf("tokens\n got %v\nwant %v", got, it.Tokens)
			}
			if got, want := e.Fits(it.Text), len(it.Tokens) <= MaxTokens; got != want {
				t.Errorf("Fits = %v, want %v (%d tokens)", got, want, len(it.Tokens))
			}
			v, err := e.Embed(ctx, it.Text)
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != Dimensions || len(it.Embedding) != Dimensions {
				t.Fatalf("got %d dimensions, reference %d", len(v), len(it.Embedding))
			}
			diff := 0.0
			for k := range v {
				diff = max(diff, math.Abs(float64(v[k])-it.Embedding[k]))
			}
			worst = max(worst, diff)
			if diff > 1e-4 {
				t.Errorf("embedding differs from the reference by up to %g", diff)
			}
			vectors[it.Text] = v
		})
	}
	t.Logf("largest difference from the JavaScript embeddings: %g", worst)
	for _, c := range ref.Cosines {
		a, b := vectors[c.A], vectors[c.B]
		if a == nil || b == nil {
			t.Fatalf("no vectors for %q and %q", c.A, c.B)
		}
		if got := cosine(a, b); math.Abs(got-c.Cosine) > 1e-3 {
			t.Errorf("cos(%q, %q) = %.4f, want %.4f", c.A, c.B, got, c.Cosine)
		}
	}
}

func TestEmbedProperties(t *testing.T) {
	e := testEmbedder(t)
	ctx := context.Background()
	if _, err := e.Embed(ctx, ""); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("Embed(\"\") error = %v, want an empty-input error", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Embed(canceled, "hello"); !errors.Is(err, context.Canceled) {
		t.Errorf("Embed with a canceled context: %v", err)
	}
	texts := []string{"Who is Joseph Conrad?", "a", "Café 🍕", strings.Repeat("long input ", 200)}
	first := map[string][]float32{}
	for _, text := range texts {
		v, err := e.Embed(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		norm := 0.0
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		if math.Abs(norm-1) > 1e-5 {
			t.Errorf("%q: squared norm %g, want 1", text, norm)
		}
		first[text] = v
	}
	// Concurrent calls share the graph and must give the same vectors.
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(texts))
	for range 4 {
		for _, text := range texts {
			wg.Go(func() {
				v, err := e.Embed(ctx, text)
				if err != nil || !slices.Equal(v, first[text]) {
					errs <- text
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for text := range errs {
		t.Errorf("concurrent Embed(%.20q) differs or failed", text)
	}
}

func TestFitsCountsTokens(t *testing.T) {
	e := testEmbedder(t)
	// "a" is one token after the leading separator piece "▁a"; each " a"
	// adds one more.
	for _, tc := range []struct {
		n    int
		fits bool
	}{{1, true}, {MaxTokens, true}, {MaxTokens + 1, false}, {500, false}} {
		text := strings.TrimSpace(strings.Repeat("a ", tc.n))
		if got := len(e.tok.encode(text)); got != tc.n {
			t.Fatalf("%d words gave %d tokens", tc.n, got)
		}
		if got := e.Fits(text); got != tc.fits {
			t.Errorf("Fits(%d tokens) = %v, want %v", tc.n, got, tc.fits)
		}
	}
}

func TestPrefix(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"aé", 2, "a"}, // é is two bytes
		{"éé", 3, "é"},
		{"é", 1, ""},
	} {
		if got := prefix(tc.s, tc.n); got != tc.want {
			t.Errorf("prefix(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestHugeInput(t *testing.T) {
	e := testEmbedder(t)
	// Unknown symbols collapse into one token, so this is few tokens, but
	// too many bytes to be read whole.
	huge := strings.Repeat("東", maxTokenizedBytes)
	if e.Fits(huge) {
		t.Error("Fits accepted text longer than the tokenizer reads")
	}
	got, err := e.Embed(context.Background(), huge)
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Embed(context.Background(), prefix(huge, maxTokenizedBytes))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("Embed of huge text differs from Embed of its prefix")
	}
}

func TestLoadMissingModel(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, ErrModelMissing) {
		t.Fatalf("Load(empty dir) = %v, want ErrModelMissing", err)
	}
	if !strings.Contains(err.Error(), "semproc model pull") || !strings.Contains(err.Error(), "make model") {
		t.Errorf("error does not say how to get the model: %v", err)
	}
}

func TestLongPromptTokenisesOnlyWhatTheModelReads(t *testing.T) {
	e := testEmbedder(t)
	long := longPrompt
	all := e.tok.encode(long)
	ids, whole := e.tokens(long)
	if whole || !slices.Equal(ids, all[:MaxTokens]) {
		t.Fatalf("tokens of a %d-token text: %d ids, whole %v; want its first %d", len(all), len(ids), whole, MaxTokens)
	}
	// The model reads MaxTokens: embedding every token, as before, gives
	// the same vector as embedding the first MaxTokens.
	got, err := e.Embed(context.Background(), long)
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.embedTokens(context.Background(), all)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("Embed of the first tokens differs from the embedding of the whole text")
	}
}

// The prefix cut before a space tokenises like the whole text only because
// no piece of the vocabulary spans a word boundary.
func TestNoPieceSpansAWordBoundary(t *testing.T) {
	e := testEmbedder(t)
	var walk func(n *trieNode, depth int)
	walk = func(n *trieNode, depth int) {
		for r, child := range n.children {
			if r == []rune(wordSeparator)[0] && depth > 0 && child.end {
				t.Errorf("a piece has the word separator at position %d", depth)
			}
			walk(child, depth+1)
		}
	}
	walk(e.tok.root, 0)
}

func TestEmbedHonoursTheContext(t *testing.T) {
	e := testEmbedder(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, "hello"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	// With every CPU slot taken, a caller waits only as long as its context.
	for range cap(e.slots) {
		e.slots <- struct{}{}
	}
	defer func() {
		for range cap(e.slots) {
			<-e.slots
		}
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := e.Embed(ctx, "hello"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with no free slot: %v", err)
	}
}
