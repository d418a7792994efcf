package semantic

import (
	"fmt"
	"math"
	"strings"
)

// The acceptance score is what Checker.Score puts in place of the distance
// tiers: once a pair has passed every check, a logistic regression over a
// few features of its alignment and distance says whether it is near
// enough for how much differs. Its weights are fitted on the labelled sets
// (`go test ./providers/local/ -run TestFitAcceptance -update` writes
// accept_weights.go). It is not the default: fitted on these sets it
// answers more everyday paraphrases out of sample, but fewer GPTCache ones,
// and it learns that a short pair passing the checks is more suspect the
// nearer it is (README, Cache quality).

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
	NumFeatures
)

// FeatureNames names each feature, for the fitting report and the
// generated weights.
var FeatureNames = [NumFeatures]string{"distance", "unaligned share", "unaligned words", "content words", "distance x content words"}

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

// Score is the model's estimate that serving the pair is right, in [0, 1].
func (m *AcceptModel) Score(f Features) float64 {
	z := m.Bias
	for i, w := range m.Weights {
		z += w * f[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// Features are the acceptance features of a pair within the threshold
// that passes every check; ok is false for any other pair. Fitting reads
// them; Verify scores them.
func (c *Checker) Features(query, stored string, distance float64) (f Features, ok bool) {
	if distance > c.Threshold {
		return f, false
	}
	q, s := tokenize(query), tokenize(stored)
	if len(q) > maxVerifiedWords || len(s) > maxVerifiedWords {
		return f, false
	}
	a, reason := c.check(q, s)
	if reason != "" {
		return f, false
	}
	return c.features(a, distance), true
}

func (c *Checker) features(a alignment, distance float64) Features {
	var f Features
	unaligned := len(a.q) + len(a.s)
	f[FeatureDistance] = distance / c.Threshold
	if a.content > 0 {
		f[FeatureShare] = float64(unaligned) / float64(a.content)
	}
	f[FeatureUnaligned] = float64(unaligned)
	f[FeatureContent] = float64(a.content) / 10
	f[FeatureLongDistance] = f[FeatureDistance] * f[FeatureContent]
	return f
}

// scoreVerdict serves a pair that passed every check when its score
// reaches the model's cutoff, and says why either way.
func (c *Checker) scoreVerdict(m *AcceptModel, a alignment, distance float64) Verdict {
	score := m.Score(c.features(a, distance))
	why := fmt.Sprintf("%s, distance %s", describe(a), FormatDistance(distance, false))
	if score < m.Cutoff {
		return Verdict{Reason: fmt.Sprintf("rejected: score %.2f < %.2f: %s", score, m.Cutoff, why)}
	}
	return Verdict{Accept: true, Reason: fmt.Sprintf("accepted: score %.2f ≥ %.2f: %s", score, m.Cutoff, why)}
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
