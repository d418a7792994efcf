package semantic

import (
	"math"
	"strings"
	"testing"
)

// The features are the counts of the alignment the checks build, and only
// pairs that pass every check within the threshold have any.
func TestFeatures(t *testing.T) {
	c := &Checker{Threshold: 0.3}
	for _, tc := range []struct {
		query, stored string
		distance      float64
		neighbours    int
		ok            bool
		want          Features
	}{
		// capital, france | capital, france: all four aligned.
		{"What is the capital of France?", "what's the capital of france", 0.06, 0, true, Features{0.2, 0, 0, 0.4, 0.08, 0}},
		// +today: one of five content words unaligned; two other entries
		// within the threshold.
		{"what is the capital of france today", "what is the capital of france", 0.15, 2, true, Features{0.5, 0.2, 1, 0.5, 0.25, 2}},
		{"what is the capital of france", "what is the capital of spain", 0.01, 0, false, Features{}},   // a name: rejected
		{"what is the capital of france", "what is the capital of france!", 0.31, 0, false, Features{}}, // beyond the threshold
	} {
		f, ok := c.Features(Pair{Query: tc.query, Stored: tc.stored, Distance: tc.distance, Neighbours: tc.neighbours})
		if ok != tc.ok {
			t.Errorf("Features(%q, %q, %v): ok %v, want %v", tc.query, tc.stored, tc.distance, ok, tc.ok)
			continue
		}
		for i := range f {
			if math.Abs(f[i]-tc.want[i]) > 1e-9 {
				t.Errorf("Features(%q, %q, %v)[%s] = %v, want %v", tc.query, tc.stored, tc.distance, FeatureNames[i], f[i], tc.want[i])
			}
		}
	}
}

// With a Score, the score decides what passed the checks, and the reason
// gives it, the cutoff and what it read; the checks still run first, and
// -without tiers serves what passed them.
func TestCheckerScore(t *testing.T) {
	// Nearer is better: the score is 0.5 at half the threshold.
	m := &AcceptModel{Bias: 2, Cutoff: 0.5}
	m.Weights[FeatureDistance] = -4
	scored := &Checker{Threshold: 0.3, Score: m}
	checkVerdicts(t, scored, []verdictCase{
		// Within the tiers (one word: two fifths of the threshold): served
		// as the tiers serve it.
		{"what is the capital of france today", "what is the capital of france", 0.03, true,
			"accepted: 1 of 5 content words unaligned (+today)"},
		// Beyond the tiers, the score decides.
		{"what is the capital of france today", "what is the capital of france", 0.14, true,
			"accepted: 1 of 5 content words unaligned (+today), beyond the tiers' 0.1200, but score 0.533 ≥ 0.500"},
		{"what is the capital of france today", "what is the capital of france", 0.2, false,
			"rejected: 1 of 5 content words unaligned (+today), so the distance must be at most 0.1200, or the score reach 0.500 (it is 0.339)"},
		{"what is 5 times 12", "what is 6 times 12", 0.01, false, "numbers differ"},
		// Every content word aligns: served at any distance within the
		// threshold, whatever the score says.
		{"What is the capital of France?", "what is the capital of france", 0.29, true,
			"accepted: every content word aligns"},
	})
	// A neighbour lowers the score, and the reason says it is there: the
	// pair served alone is turned away in a crowd.
	m.Weights[FeatureNeighbours] = -1
	crowd := Pair{Query: "what is the capital of france today", Stored: "what is the capital of france", Distance: 0.14, Neighbours: 1}
	if v, want := scored.Verify(crowd), "rejected: 1 of 5 content words unaligned (+today), 1 other entry near, so the distance must be at most 0.1200, or the score reach 0.500 (it is 0.296)"; v.Accept || v.Reason != want {
		t.Errorf("with a neighbour: %+v; want %q", v, want)
	}
	crowd.Neighbours = 0
	if v := scored.Verify(crowd); !v.Accept || v.Differs {
		t.Errorf("alone: %+v; want it served", v)
	}
	// After a nearer candidate a check rejected, the score serves nothing
	// (the pair may be that candidate reworded); the tiers still serve.
	behind := crowd
	behind.NearerDiffers = true
	if v, want := scored.Verify(behind), "rejected: 1 of 5 content words unaligned (+today), so the distance must be at most 0.1200: a check found a nearer entry asks something else, and this one may be that entry reworded"; v.Accept || v.Differs || v.Reason != want {
		t.Errorf("behind a rejected candidate: %+v; want %q, not a difference of its own", v, want)
	}
	behind.Distance = 0.1
	if v := scored.Verify(behind); !v.Accept {
		t.Errorf("behind a rejected candidate, within the tiers: %+v; want it served", v)
	}
	if v := scored.Verify(Pair{Query: "what is 5 times 12", Stored: "what is 6 times 12", Distance: 0.01}); v.Accept || !v.Differs {
		t.Errorf("a check's rejection = %+v; want it to say the windows differ", v)
	}
	unscored := &Checker{Threshold: 0.3, Score: m, Without: map[string]bool{CheckTiers: true}}
	if v := unscored.Verify(Pair{Query: "what is the capital of france today", Stored: "what is the capital of france", Distance: 0.2}); !v.Accept || strings.Contains(v.Reason, "score") {
		t.Errorf("without tiers, a scored pair that passed the checks = %+v; want it accepted unscored", v)
	}
}
