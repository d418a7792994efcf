package semantic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// evalEmbedder returns fixed vectors and counts its calls per text. With a
// limit it reads only texts of at most limit bytes whole, as the local
// model reads 128 tokens.
type evalEmbedder struct {
	vectors map[string][]float32
	calls   map[string]int
	limit   int
}

var (
	_ Embedder     = (*evalEmbedder)(nil)
	_ InputLimiter = (*evalEmbedder)(nil)
)

func (e *evalEmbedder) Fits(text string) bool { return e.limit == 0 || len(text) <= e.limit }

func (e *evalEmbedder) Embed(_ context.Context, text string) ([]float32, error) {
	e.calls[text]++
	v, ok := e.vectors[text]
	if !ok {
		return nil, errors.New("no vector")
	}
	return v, nil
}

// embeddedOnce fails t unless each text was embedded exactly once.
func (e *evalEmbedder) embeddedOnce(t *testing.T) {
	t.Helper()
	for text, n := range e.calls {
		if n != 1 {
			t.Errorf("%q embedded %d times, want once", text, n)
		}
	}
}

// angle is a unit vector at cosine distance 1 − cos(θ) from (1, 0).
func angle(theta float64) []float32 {
	return []float32{float32(math.Cos(theta)), float32(math.Sin(theta))}
}

func TestGPTCacheSetStoresEvenOrigins(t *testing.T) {
	s, err := GPTCacheSet([]string{"o0", "o1", "o2"}, []string{"s0", "s1", "s2"})
	if err != nil {
		t.Fatal(err)
	}
	want := EvalSet{
		Stored:  []string{"o0", "o2"},
		Queries: []EvalQuery{{"s0", 0}, {"s1", -1}, {"s2", 1}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if _, err := GPTCacheSet([]string{"a"}, nil); err == nil {
		t.Error("mismatched lengths accepted")
	}
}

func TestReadEvalSet(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     EvalSet
		err      string
	}{
		{
			name: "gptcache",
			in:   "\n [{\"origin\": \"o0\", \"similar\": \"s0\"}, {\"origin\": \"o1\", \"similar\": \"s1\"}]",
			want: EvalSet{Stored: []string{"o0"}, Queries: []EvalQuery{{"s0", 0}, {"s1", -1}}},
		},
		{
			name: "jsonl",
			in:   "{\"a\": \"x\", \"b\": \"y\", \"duplicate\": true}\n\n{\"a\": \"p\", \"b\": \"q\", \"duplicate\": false}\n",
			want: EvalSet{Stored: []string{"x", "p"}, Queries: []EvalQuery{{"y", 0}, {"q", -1}}},
		},
		{
			name: "jsonl stores a repeated a once",
			in:   "{\"a\": \"x\", \"b\": \"y\", \"duplicate\": true}\n{\"a\": \"x\", \"b\": \"z\", \"duplicate\": false}\n{\"a\": \"p\", \"b\": \"q\", \"duplicate\": true}\n",
			want: EvalSet{Stored: []string{"x", "p"}, Queries: []EvalQuery{{"y", 0}, {"z", -1}, {"q", 1}}},
		},
		{name: "gptcache missing field", in: `[{"origin": "o"}]`, err: "want origin and similar"},
		{name: "jsonl missing label", in: `{"a": "x", "b": "y"}`, err: "line 1: want a, b and duplicate"},
		{name: "jsonl bad line", in: "{\"a\": \"x\", \"b\": \"y\", \"duplicate\": true}\nnope\n", err: "line 2"},
		{name: "empty", in: "  \n", err: "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadEvalSet(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEvaluateCountsOutcomes(t *testing.T) {
	// Stored "A" at angle 0 and "B" at 90°. Cosine distances to the
	// nearest stored text: near 0.02 (A, wanted), other 0.02 (A, but B is
	// wanted), far 0.25 (A, wanted), stranger 0.1 and again 0.1 (negative
	// queries near B).
	emb := &evalEmbedder{calls: map[string]int{}, vectors: map[string][]float32{
		"A":        angle(0),
		"B":        angle(math.Pi / 2),
		"near":     angle(math.Acos(0.98)),
		"other":    angle(-math.Acos(0.98)),
		"far":      angle(math.Acos(0.75)),
		"stranger": angle(math.Pi/2 + math.Acos(0.9)),
	}}
	s := EvalSet{
		Stored: []string{"A", "B"},
		Queries: []EvalQuery{
			{"near", 0}, {"other", 1}, {"far", 0}, {"stranger", -1}, {"stranger", -1},
		},
	}
	rows, err := Evaluate(context.Background(), emb, s, EvalOptions{Thresholds: []float64{0.01, 0.05, 0.2, 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	want := []EvalRow{
		{Threshold: 0.01, Missed: 3, Positives: 3, Negatives: 2},
		{Threshold: 0.05, Correct: 1, Wrong: 1, Missed: 1, Positives: 3, Negatives: 2},
		{Threshold: 0.2, Correct: 1, Wrong: 1, Missed: 1, FalseHits: 2, Positives: 3, Negatives: 2},
		{Threshold: 0.5, Correct: 2, Wrong: 1, FalseHits: 2, Positives: 3, Negatives: 2},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("got  %+v\nwant %+v", rows, want)
	}
	emb.embeddedOnce(t)
	if got := rows[2].FalseHitRate(); got != 1 {
		t.Errorf("false-hit rate %g, want 1", got)
	}
	if got := rows[3].BadShare(); got != 0.6 {
		t.Errorf("bad share %g, want 3 of 5 hits", got)
	}

	// A verifier that refuses A's answers passes to the next candidate:
	// "far" (0.34 from B) is served B, a wrong answer; "near" and "other"
	// have nothing else within 0.5; the negatives are still served B.
	var traces []EvalTrace
	refuser := &refuse{text: "A"}
	rows, err = Evaluate(context.Background(), emb, s, EvalOptions{
		Thresholds: []float64{0.5},
		Verifier:   func(float64) Verifier { return refuser },
		Trace:      func(tr EvalTrace) { traces = append(traces, tr) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (EvalRow{Threshold: 0.5, Wrong: 1, Missed: 2, FalseHits: 2, Positives: 3, Negatives: 2}); rows[0] != want {
		t.Errorf("with a verifier: %+v, want %+v", rows[0], want)
	}
	// The trace shows each query's outcome and the verdicts read on the
	// way: "near" is refused A and has nothing else within 0.5; "far" is
	// refused A, then served B.
	if len(traces) != len(s.Queries) {
		t.Fatalf("%d traces for %d queries", len(traces), len(s.Queries))
	}
	read := func(tr EvalTrace) (got []string) {
		for _, r := range tr.Read {
			got = append(got, fmt.Sprintf("%s:%t", s.Stored[r.Index], r.Verdict.Accept))
		}
		return got
	}
	for i, want := range []struct {
		served int
		read   []string
	}{
		{-1, []string{"A:false"}},
		{-1, []string{"A:false"}},
		{1, []string{"A:false", "B:true"}},
		{1, []string{"B:true"}},
		{1, []string{"B:true"}},
	} {
		tr := traces[i]
		if tr.Query != s.Queries[i] || tr.Threshold != 0.5 || tr.Served != want.served || !slices.Equal(read(tr), want.read) || len(tr.Candidates) != 2 {
			t.Errorf("trace %d: %+v; want served %d after reading %v, of 2 candidates", i, tr, want.served, want.read)
		}
	}
	// The verifier is told, as in the cache, how many other stored texts
	// lie within the threshold (only "far" has both A and B within 0.5),
	// and whether it refused a nearer one (only "far", of B).
	var neighbours []string
	for _, p := range refuser.asked {
		neighbours = append(neighbours, fmt.Sprintf("%s>%s:%d:%t", p.Query, p.Stored, p.Neighbours, p.NearerDiffers))
	}
	if want := []string{"near>A:0:false", "other>A:0:false", "far>A:1:false", "far>B:1:true", "stranger>B:0:false", "stranger>B:0:false"}; !slices.Equal(neighbours, want) {
		t.Errorf("the verifier was asked %v; want %v", neighbours, want)
	}
}

// Evaluate serves as the cache does: an identical stored text through the
// exact layer, whatever the threshold and the verifier; a text the embedder
// cannot read whole is never embedded, so it is found and served by the
// exact layer only.
func TestEvaluateModelsTheExactLayerAndTheInputLimit(t *testing.T) {
	emb := &evalEmbedder{limit: 6, calls: map[string]int{}, vectors: map[string][]float32{
		"A":          angle(0),
		"near A":     angle(0.1),
		"long B....": angle(math.Pi / 2), // past the limit: never embedded
		"near B":     angle(math.Pi/2 - 0.1),
		"long A....": angle(0.05),
	}}
	s := EvalSet{
		Stored: []string{"A", "long B....", "A"},
		Queries: []EvalQuery{
			{"A", 0},          // exact, refused by no verifier, served at threshold 0
			{"long B....", 1}, // exact though too long
			{"near A", 0},     // semantic
			{"near B", 1},     // B was never embedded: nothing near
			{"long A....", 0}, // too long to match semantically
		},
	}
	rows, err := Evaluate(context.Background(), emb, s, EvalOptions{
		Thresholds: []float64{0, 0.5},
		Verifier:   func(float64) Verifier { return &refuse{text: "A"} },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []EvalRow{
		{Threshold: 0, Correct: 2, Missed: 3, Positives: 5},
		{Threshold: 0.5, Correct: 2, Missed: 3, Positives: 5},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("with a verifier refusing A: got %+v, want %+v", rows, want)
	}
	rows, err = Evaluate(context.Background(), emb, s, EvalOptions{Thresholds: []float64{0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (EvalRow{Threshold: 0.5, Correct: 3, Missed: 2, Positives: 5}); rows[0] != want {
		t.Errorf("without a verifier: got %+v, want %+v", rows[0], want)
	}
	for _, text := range []string{"long B....", "long A...."} {
		if n := emb.calls[text]; n != 0 {
			t.Errorf("%q embedded %d times; it does not fit", text, n)
		}
	}
}

// refuse is a verifier that refuses one stored text and keeps the pairs
// it was asked about.
type refuse struct {
	text  string
	asked []Pair
}

// Verify refuses text as a check would: having found it asks something
// else.
func (r *refuse) Verify(p Pair) Verdict {
	r.asked = append(r.asked, p)
	return Verdict{Accept: p.Stored != r.text, Differs: p.Stored == r.text}
}

func TestEvaluateErrors(t *testing.T) {
	emb := &evalEmbedder{calls: map[string]int{}, vectors: map[string][]float32{
		"a": {1, 0}, "short": {1},
	}}
	for _, tc := range []struct {
		name string
		set  EvalSet
		err  string
	}{
		{"nothing stored", EvalSet{Queries: []EvalQuery{{"a", -1}}}, "nothing to store"},
		{"embed fails", EvalSet{Stored: []string{"a"}, Queries: []EvalQuery{{"unknown", 0}}}, "no vector"},
		{"dimension", EvalSet{Stored: []string{"a"}, Queries: []EvalQuery{{"short", 0}}}, ErrDimension.Error()},
		{"bad want", EvalSet{Stored: []string{"a"}, Queries: []EvalQuery{{"a", 1}}}, "wants stored text 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(context.Background(), emb, tc.set, EvalOptions{Thresholds: []float64{0.1}})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestRecommend(t *testing.T) {
	rows := []EvalRow{
		{Threshold: 0.1, Correct: 10, FalseHits: 0, Negatives: 100},
		{Threshold: 0.2, Correct: 50, FalseHits: 1, Negatives: 100},
		{Threshold: 0.25, Correct: 50, FalseHits: 1, Negatives: 100},
		{Threshold: 0.3, Correct: 80, FalseHits: 5, Negatives: 100},
	}
	for _, tc := range []struct {
		rate float64
		want float64
		ok   bool
	}{
		{0.02, 0.2, true}, // most correct with at most 2% of hits bad (1 of 51), lowest of the tie
		{0.06, 0.3, true}, // 5 of 85
		{0, 0.1, true},
	} {
		got, ok := Recommend(rows, tc.rate)
		if ok != tc.ok || got.Threshold != tc.want {
			t.Errorf("Recommend(%g) = %v, %v; want %v", tc.rate, got.Threshold, ok, tc.want)
		}
	}
	if _, ok := Recommend(rows[1:], 0); ok {
		t.Error("Recommend found a row above the target rate")
	}
}

func TestThresholds(t *testing.T) {
	got := Thresholds(0.05, 0.5, 0.05)
	want := []float64{0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := Thresholds(0.1, 0.2, 0); len(got) != 0 {
		t.Errorf("zero step gave %v", got)
	}
}

func TestReadEvalFile(t *testing.T) {
	dir := t.TempDir()
	good, bad := dir+"/good.jsonl", dir+"/bad.jsonl"
	if err := os.WriteFile(good, []byte(`{"a":"x","b":"y","duplicate":true}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"a":"x"`), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadEvalFile(good); err != nil || len(s.Stored) != 1 || len(s.Queries) != 1 || s.Queries[0].Want != 0 {
		t.Errorf("ReadEvalFile(good) = %+v, %v", s, err)
	}
	if _, err := ReadEvalFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("ReadEvalFile(bad) = %v, want an error naming the file", err)
	}
	if _, err := ReadEvalFile(dir + "/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadEvalFile(missing) = %v, want not exist", err)
	}
}
