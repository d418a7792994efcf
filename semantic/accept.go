package semantic

import (
	"fmt"
	"math"
	"strings"
)

// The acceptance score is what Checker.Score adds to the distance tiers:
// once a pair has passed every check, it is served when the tiers serve
// it, or when a logistic regression over a few features of its alignment
// and distance is confident enough that it asks the same thing. Its
// weights and cutoff are fitted on the labelled sets (`go test
// ./providers/local/ -run TestFitAcceptance -update` writes
// accept_weights.go). The tiers alone are stricter than they need to be on
// reworded prompts; the score alone learns that a short pair passing the
// checks is more suspect the nearer it is, and would turn away "the
// capital city of France" for "the capital of France" (README, Cache
// quality).

// The features, in the order of AcceptModel.Weights. Each is a plain
// count or share of the alignment the checks built, or the distance.
const (
	FeatureDistance  = iota // the distance as a share of the threshold
	FeatureShare            // the unaligned share of both windows' content words
	FeatureUnaligned        // content words without a counterpart, both sides
	FeatureContent          // content words of both windows, in tens
	// FeatureLongDistance is the distance times the content words: the
	// longer the windows, the more a distance says ("how many km is 100
	// miles" is 0.44 from its paraphrase; two paragraphs that far apart
	// are about different things).
	FeatureLongDistance
	// FeatureNeighbours is Pair.Neighbours: the other entries the search
	// found within the threshold.
	FeatureNeighbours
	NumFeatures
)

// FeatureNames names each feature, for the fitting report and the
// generated weights.
var FeatureNames = [NumFeatures]string{"distance", "unaligned share", "unaligned words", "content words", "distance x content words", "neighbours"}

// Features are one pair's values of the acceptance features.
type Features [NumFeatures]float64

// AcceptModel is a fitted acceptance score: a pair is served when the
// logistic of Bias + Weights·features is at least Cutoff.
type AcceptModel struct {
	Weights Features
	Bias    float64
	Cutoff  float64
}

// FittedAcceptModel is the model fitted on the labelled sets
// (accept_weights.go).
func FittedAcceptModel() AcceptModel { return acceptModel }

// NewChecker is the verifier semproc serves with: every check, the
// distance tiers and the fitted acceptance score. lex may be nil (words
// are then known by spelling only).
func NewChecker(lex Lexicon, threshold float64) *Checker {
	m := acceptModel
	return &Checker{Lexicon: lex, Threshold: threshold, Score: &m}
}

// Score is the model's estimate that serving the pair is right, in [0, 1].
func (m *AcceptModel) Score(f Features) float64 {
	z := m.Bias
	for i, w := range m.Weights {
		z += w * f[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// Serves reports whether the model serves a pair with features f at
// cutoff: when the distance tiers do (so every pair they serve, such as
// "What is the capital of France?" and its lower-case twin, stays served),
// or when its score reaches the cutoff and no nearer candidate differs
// from the query (Pair.NearerDiffers).
func (m *AcceptModel) Serves(f Features, nearerDiffers bool, cutoff float64) bool {
	return WithinTiers(f) || !nearerDiffers && m.Score(f) >= cutoff
}

// WithinTiers reports whether the distance tiers serve a pair with
// features f.
func WithinTiers(f Features) bool { return f[FeatureDistance] <= tierLimit(f) }

// Features are the acceptance features of a pair within the threshold
// that passes every check; ok is false for any other pair. Fitting reads
// them; Verify scores them.
func (c *Checker) Features(p Pair) (f Features, ok bool) {
	if p.Distance > c.Threshold {
		return f, false
	}
	q, s := tokenize(p.Query), tokenize(p.Stored)
	if len(q) > maxVerifiedWords || len(s) > maxVerifiedWords {
		return f, false
	}
	a, reason := c.check(q, s)
	if reason != "" {
		return f, false
	}
	return c.features(a, p), true
}

func (c *Checker) features(a alignment, p Pair) Features {
	var f Features
	unaligned := len(a.q) + len(a.s)
	f[FeatureDistance] = p.Distance / c.Threshold
	if a.content > 0 {
		f[FeatureShare] = float64(unaligned) / float64(a.content)
	}
	f[FeatureUnaligned] = float64(unaligned)
	f[FeatureContent] = float64(a.content) / 10
	f[FeatureLongDistance] = f[FeatureDistance] * f[FeatureContent]
	f[FeatureNeighbours] = float64(p.Neighbours)
	return f
}

// scoreVerdict serves a pair that passed every check as Serves does at the
// model's cutoff, and says why either way.
func (c *Checker) scoreVerdict(m *AcceptModel, a alignment, f Features, nearerDiffers bool) Verdict {
	words := describe(a)
	if WithinTiers(f) {
		return Verdict{Accept: true, Reason: "accepted: " + words}
	}
	limit, score := c.Threshold*tierLimit(f), m.Score(f)
	if n := f[FeatureNeighbours]; n > 0 {
		// The same pair may be served alone and not in a crowd: say so.
		entries := "entries"
		if n == 1 {
			entries = "entry"
		}
		words += fmt.Sprintf(", %g other %s near", n, entries)
	}
	if nearerDiffers {
		return Verdict{Reason: fmt.Sprintf("rejected: %s, so the distance must be at most %.4f: a check found a nearer entry asks something else, and this one may be that entry reworded", words, limit)}
	}
	if score >= m.Cutoff {
		return Verdict{Accept: true, Reason: fmt.Sprintf("accepted: %s, beyond the tiers' %.4f, but score %.3f ≥ %.3f", words, limit, score, m.Cutoff)}
	}
	return Verdict{Reason: fmt.Sprintf("rejected: %s, so the distance must be at most %.4f, or the score reach %.3f (it is %.3f)", words, limit, m.Cutoff, score)}
}

// String lists the model's weights by feature name.
func (m *AcceptModel) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bias %+.3f", m.Bias)
	for i, w := range m.Weights {
		fmt.Fprintf(&b, ", %s %+.3f", FeatureNames[i], w)
	}
	fmt.Fprintf(&b, "; cutoff %.3f", m.Cutoff)
	return b.String()
}
