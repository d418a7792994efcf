package semantic

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
)

// With Replay each query that is not served is stored, per threshold.
// Stored "A" at angle 0; cosine distances (1 − cos of the angle between):
//
//	para1 (π/2−0.1)  A 0.9002
//	para2 (π/2)      para1 0.0050, A 1
//	neg1  (π)        para2 1, para1 1.0998, A 2
//	neg2  (π+0.1)    neg1 0.0050, para1 1.1987, A 1.9950
//	near  (π−0.1)    neg1 0.0050, para1 1, A 1.9950
func TestEvaluateReplayStoresMisses(t *testing.T) {
	emb := &evalEmbedder{calls: map[string]int{}, vectors: map[string][]float32{
		"A":     angle(0),
		"para1": angle(math.Pi/2 - 0.1),
		"para2": angle(math.Pi / 2),
		"neg1":  angle(math.Pi),
		"neg2":  angle(math.Pi + 0.1),
		"near":  angle(math.Pi - 0.1),
	}}
	s := EvalSet{
		Stored: []string{"A"},
		Queries: []EvalQuery{
			{"para1", 0}, // 0.1: missed and stored; 1.5: served A
			{"para2", 0}, // 0.1: served para1, which wanted A: correct; 1.5: para1 is not stored there, served A
			{"neg1", -1}, // missed and stored at both
			{"neg2", -1}, // served neg1: a false hit
			{"near", 0},  // served neg1, whose answer is its own: wrong
			{"para1", 0}, // 0.1: the exact layer serves query 0; 1.5: served A
		},
	}
	var traces []EvalTrace
	rows, err := Evaluate(context.Background(), emb, s, EvalOptions{
		Thresholds: []float64{0.1, 1.5},
		Replay:     true,
		Trace:      func(tr EvalTrace) { traces = append(traces, tr) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []EvalRow{
		{Threshold: 0.1, Correct: 2, Wrong: 1, Missed: 1, FalseHits: 1, Positives: 4, Negatives: 2},
		{Threshold: 1.5, Correct: 3, Wrong: 1, FalseHits: 1, Positives: 4, Negatives: 2},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("replay: got  %+v\nwant %+v", rows, want)
	}
	emb.embeddedOnce(t)

	// The traces come threshold by threshold; an index past the one
	// stored text names a query (EvalSet.Text), and each threshold's store
	// holds only its own misses.
	if len(traces) != 2*len(s.Queries) {
		t.Fatalf("%d traces for %d queries at 2 thresholds", len(traces), len(s.Queries))
	}
	describe := func(tr EvalTrace) string {
		var cands []string
		for _, c := range tr.Candidates {
			exact := ""
			if c.Exact {
				exact = " exact"
			}
			cands = append(cands, fmt.Sprintf("%s %.4f%s", s.Text(c.Index), c.Distance, exact))
		}
		served := "-"
		if tr.Served >= 0 {
			served = s.Text(tr.Served)
		}
		return fmt.Sprintf("%g %s: served %s of %v", tr.Threshold, tr.Query.Text, served, cands)
	}
	var got []string
	for _, tr := range traces {
		got = append(got, describe(tr))
	}
	wantTraces := []string{
		"0.1 para1: served - of [A 0.9002]",
		"0.1 para2: served para1 of [para1 0.0050 A 1.0000]",
		"0.1 neg1: served - of [para1 1.0998 A 2.0000]",
		"0.1 neg2: served neg1 of [neg1 0.0050 para1 1.1987 A 1.9950]",
		"0.1 near: served neg1 of [neg1 0.0050 para1 1.0000 A 1.9950]",
		"0.1 para1: served para1 of [para1 0.0000 exact]",
		"1.5 para1: served A of [A 0.9002]",
		"1.5 para2: served A of [A 1.0000]",
		"1.5 neg1: served - of [A 2.0000]",
		"1.5 neg2: served neg1 of [neg1 0.0050 A 1.9950]",
		"1.5 near: served neg1 of [neg1 0.0050 A 1.9950]",
		"1.5 para1: served A of [A 0.9002 neg1 1.0998]",
	}
	if !slices.Equal(got, wantTraces) {
		t.Errorf("traces:\n%q\nwant\n%q", got, wantTraces)
	}
	if tr := traces[1]; tr.Served != 1 || s.Answer(tr.Served) != 0 {
		t.Errorf("para2 served item %d standing for %d; want item 1 (query 0), standing for stored text 0", tr.Served, s.Answer(tr.Served))
	}

	// Without Replay the store stays as it was: nothing is served at 0.1
	// (A is at least 0.9 away), and at 1.5 A serves the two paraphrases and
	// the repeated query; the negatives and "near" are beyond it.
	rows, err = Evaluate(context.Background(), emb, s, EvalOptions{Thresholds: []float64{0.1, 1.5}})
	if err != nil {
		t.Fatal(err)
	}
	want = []EvalRow{
		{Threshold: 0.1, Missed: 4, Positives: 4, Negatives: 2},
		{Threshold: 1.5, Correct: 3, Missed: 1, Positives: 4, Negatives: 2},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("without replay: got  %+v\nwant %+v", rows, want)
	}
}

// The verifier is told of stored queries among the neighbours, as the
// cache's search returns every entry within the threshold; a query the
// embedder cannot read whole is stored for the exact layer only.
func TestEvaluateReplayNeighboursAndInputLimit(t *testing.T) {
	emb := &evalEmbedder{limit: 6, calls: map[string]int{}, vectors: map[string][]float32{
		"A":         angle(0),
		"b":         angle(0.1), // A 0.0050
		"c":         angle(0.2), // b 0.0050, A 0.0199
		"too long":  angle(0.3), // past the limit: never embedded
		"d":         angle(0.3), // c 0.0050, b 0.0199, A 0.0447; "too long" is not among them
		"other":     angle(math.Pi),
		"too long!": angle(0.31),
	}}
	s := EvalSet{
		Stored: []string{"A"},
		Queries: []EvalQuery{
			{"b", 0},         // A refused: missed, stored
			{"c", 0},         // served b (A within too): correct
			{"too long", 0},  // nothing to compare: missed, stored for the exact layer
			{"d", 0},         // served b (c was served, so not stored), A within too
			{"too long", 0},  // the exact layer serves query 2
			{"too long!", 0}, // not embedded: missed
		},
	}
	refuser := &refuse{text: "A"}
	rows, err := Evaluate(context.Background(), emb, s, EvalOptions{
		Thresholds: []float64{0.5},
		Replay:     true,
		Verifier:   func(float64) Verifier { return refuser },
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (EvalRow{Threshold: 0.5, Correct: 3, Missed: 3, Positives: 6}); rows[0] != want {
		t.Errorf("got %+v, want %+v", rows[0], want)
	}
	var asked []string
	for _, p := range refuser.asked {
		asked = append(asked, fmt.Sprintf("%s>%s:%d", p.Query, p.Stored, p.Neighbours))
	}
	if want := []string{"b>A:0", "c>b:1", "d>b:1"}; !slices.Equal(asked, want) {
		t.Errorf("the verifier was asked %v; want %v", asked, want)
	}
	for _, text := range []string{"too long", "too long!"} {
		if n := emb.calls[text]; n != 0 {
			t.Errorf("%q embedded %d times; it does not fit", text, n)
		}
	}
}

func TestEvalSetAnswerAndText(t *testing.T) {
	s := EvalSet{Stored: []string{"x", "y"}, Queries: []EvalQuery{{"p", 1}, {"n", -1}}}
	for i, want := range []struct {
		text   string
		answer int
	}{{"x", 0}, {"y", 1}, {"p", 1}, {"n", 3}} {
		if got, answer := s.Text(i), s.Answer(i); got != want.text || answer != want.answer {
			t.Errorf("item %d: %q answering %d; want %q answering %d", i, got, answer, want.text, want.answer)
		}
	}
	if got := s.Answer(-1); got != -1 {
		t.Errorf("Answer(-1) = %d, want -1 (none served)", got)
	}
}
