package local

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/format"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/semproc/semproc/internal/race"
	"github.com/semproc/semproc/providers/lexicon"
	"github.com/semproc/semproc/semantic"
)

var update = flag.Bool("update", false, "TestFitAcceptance: write the fitted weights to "+acceptWeightsFile)

const acceptWeightsFile = "../../semantic/accept_weights.go"

// maxBadShare is the share of wrong answers among hits the cutoff is
// chosen for (issue 9's goal).
const maxBadShare = 0.03

// fitSet is one labelled set, embedded once, with what a cache looks at
// for each query and which queries calibrate.
type fitSet struct {
	name    string
	set     semantic.EvalSet
	vectors precomputed
	queries []fitQuery
	// calibrates says whether query i may be fitted on; the others are
	// held out (GPTCache's pairs with i%4 in {2, 3}).
	calibrates func(i int) bool
}

// fitQuery is a query as the acceptance score sees it: the stored text
// the exact layer serves (-1: none), else the candidates within the
// threshold that pass every check, nearest first.
type fitQuery struct {
	want, exact int
	cands       []fitCand
}

type fitCand struct {
	index int
	f     semantic.Features
	// nearerDiffers: a check rejected a nearer candidate, so the score
	// does not decide this one (Pair.NearerDiffers).
	nearerDiffers bool
	// right: serving it answers the query right, the text it wants (a
	// text stored twice is the same answer).
	right bool
}

func loadFitSets(t *testing.T, e *Embedder, wn *lexicon.WordNet) []*fitSet {
	checker := &semantic.Checker{Lexicon: wn, Threshold: CacheDistanceThreshold}
	// The scored pairs are all that pass the checks, nearest first.
	var out []*fitSet
	for _, name := range qualitySets {
		set, err := semantic.ReadEvalFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fs := &fitSet{name: name, set: set, vectors: embedAll(t, e, set), calibrates: func(int) bool { return true }}
		if name == gptcacheData {
			fs.calibrates = func(i int) bool { return i%4 < 2 }
		}
		found, err := semantic.Nearest(context.Background(), fs.vectors, set)
		if err != nil {
			t.Fatal(err)
		}
		for qi, q := range set.Queries {
			fq := fitQuery{want: q.Want, exact: -1}
			neighbours := semantic.Neighbours(found[qi], CacheDistanceThreshold)
			differs := false
			for _, c := range found[qi] {
				if c.Exact {
					fq.exact = c.Index
					break
				}
				p := semantic.Pair{Query: q.Text, Stored: set.Stored[c.Index], Distance: c.Distance, Neighbours: neighbours}
				if f, ok := checker.Features(p); ok {
					right := q.Want >= 0 && set.Stored[c.Index] == set.Stored[q.Want]
					fq.cands = append(fq.cands, fitCand{index: c.Index, f: f, nearerDiffers: differs, right: right})
				} else {
					differs = differs || checker.Verify(p).Differs
				}
			}
			fs.queries = append(fs.queries, fq)
		}
		out = append(out, fs)
	}
	return out
}

// pick gathers the queries of the sets for which keep is true.
func pick(sets []*fitSet, keep func(s *fitSet, i int) bool) []fitQuery {
	var out []fitQuery
	for _, s := range sets {
		for i, q := range s.queries {
			if keep(s, i) {
				out = append(out, q)
			}
		}
	}
	return out
}

// fitAcceptance fits the score on every candidate of the queries (label:
// it is the text the query wants) and picks the cutoff that answers the
// most of them correctly with at most maxBadShare of hits wrong.
func fitAcceptance(queries []fitQuery) semantic.AcceptModel {
	var x []semantic.Features
	var y []float64
	for _, q := range queries {
		for _, c := range q.cands {
			if !c.nearerDiffers {
				x = append(x, c.f)
				y = append(y, b2f(c.right))
			}
		}
	}
	m := logistic(x, y)
	m.Cutoff = chooseCutoff(queries, &m)
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// logistic fits a logistic regression by Newton's method: standardized
// features, an L2 penalty of ridge on the weights (not the bias), a fixed
// number of steps, no randomness.
func logistic(x []semantic.Features, y []float64) semantic.AcceptModel {
	const (
		n     = semantic.NumFeatures
		ridge = 1.0
		steps = 50
	)
	var mean, sd semantic.Features
	for _, f := range x {
		for j := range n {
			mean[j] += f[j] / float64(len(x))
		}
	}
	for _, f := range x {
		for j := range n {
			sd[j] += (f[j] - mean[j]) * (f[j] - mean[j]) / float64(len(x))
		}
	}
	for j := range n {
		sd[j] = math.Sqrt(sd[j])
		if sd[j] == 0 {
			sd[j] = 1
		}
	}
	z := make([][n + 1]float64, len(x))
	for i, f := range x {
		z[i][0] = 1
		for j := range n {
			z[i][j+1] = (f[j] - mean[j]) / sd[j]
		}
	}
	var w [n + 1]float64
	for range steps {
		var grad [n + 1]float64
		var hess [n + 1][n + 1]float64
		for j := 1; j <= n; j++ {
			grad[j] = -ridge * w[j]
			hess[j][j] = ridge
		}
		for i, zi := range z {
			s := 0.0
			for j := range zi {
				s += w[j] * zi[j]
			}
			p := 1 / (1 + math.Exp(-s))
			for j := range zi {
				grad[j] += (y[i] - p) * zi[j]
				for k := range zi {
					hess[j][k] += p * (1 - p) * zi[j] * zi[k]
				}
			}
		}
		step := solve(hess, grad)
		for j := range w {
			w[j] += step[j]
		}
	}
	m := semantic.AcceptModel{Bias: w[0]}
	for j := range n {
		m.Weights[j] = w[j+1] / sd[j]
		m.Bias -= w[j+1] * mean[j] / sd[j]
	}
	return m
}

// solve solves a x = b by Gaussian elimination with partial pivoting; a is
// positive definite here (the penalty sees to it).
func solve(a [semantic.NumFeatures + 1][semantic.NumFeatures + 1]float64, b [semantic.NumFeatures + 1]float64) [semantic.NumFeatures + 1]float64 {
	const n = semantic.NumFeatures + 1
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			k := a[r][c] / a[c][c]
			for j := c; j < n; j++ {
				a[r][j] -= k * a[c][j]
			}
			b[r] -= k * b[c]
		}
	}
	var x [n]float64
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for j := r + 1; j < n; j++ {
			s -= a[r][j] * x[j]
		}
		x[r] = s / a[r][r]
	}
	return x
}

// serveAt scores queries as the cache serves them with the model at
// cutoff: the exact layer's text, else the first candidate it serves.
func serveAt(queries []fitQuery, m *semantic.AcceptModel, cutoff float64) semantic.EvalRow {
	r := semantic.EvalRow{Threshold: CacheDistanceThreshold}
	for _, q := range queries {
		served := q.exact
		if served < 0 {
			for _, c := range q.cands {
				if m.Serves(c.f, c.nearerDiffers, cutoff) {
					served = c.index
					break
				}
			}
		}
		r.Score(semantic.EvalQuery{Want: q.want}, served)
	}
	return r
}

// chooseCutoff is the cutoff, halfway between two scores of candidates,
// that answers the most queries correctly with at most maxBadShare of hits
// wrong (the highest of equals).
func chooseCutoff(queries []fitQuery, m *semantic.AcceptModel) float64 {
	scores := []float64{1}
	for _, q := range queries {
		for _, c := range q.cands {
			if !c.nearerDiffers {
				scores = append(scores, m.Score(c.f))
			}
		}
	}
	slices.Sort(scores)
	scores = slices.Compact(scores)
	best, bestCorrect := 1.0, -1
	for i := len(scores) - 1; i > 0; i-- {
		cut := (scores[i] + scores[i-1]) / 2
		r := serveAt(queries, m, cut)
		if r.BadShare() <= maxBadShare && r.Correct > bestCorrect {
			best, bestCorrect = cut, r.Correct
		}
	}
	return best
}

// TestFitAcceptance fits the acceptance score on the calibration queries
// (everyday-a, -b, -c and GPTCache's pairs with i%4 in {0, 1}) and checks
// that the committed weights (semantic/accept_weights.go) are what the fit
// gives; -update writes them. go test -v reports the calibration curve and
// the score out of sample: on GPTCache's other pairs, and on each everyday
// set left out of a fit on the others.
func TestFitAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 2,500 texts")
	}
	if race.Enabled {
		t.Skip("a measurement, not a concurrency test: it runs without -race")
	}
	wn := testWordNet(t)
	sets := loadFitSets(t, testEmbedder(t), wn)
	calibration := pick(sets, func(s *fitSet, i int) bool { return s.calibrates(i) })
	fitted := fitAcceptance(calibration)
	t.Logf("fitted on %d queries: %s", len(calibration), fitted.String())
	for _, cut := range []float64{0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95} {
		t.Logf("  calibration at cutoff %.2f: %s", cut, quality(serveAt(calibration, &fitted, cut)))
	}
	if *update {
		src, err := weightsSource(fitted)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(acceptWeightsFile, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if shipped := semantic.FittedAcceptModel(); !*update && !sameModel(fitted, shipped) {
		t.Errorf("the committed weights (%s) are not what fitting gives (%s): run go test ./providers/local/ -run TestFitAcceptance -update", shipped.String(), fitted.String())
	}
	tiered := semantic.EvalRow{Threshold: CacheDistanceThreshold}
	for _, s := range sets {
		r := tiers(t, s, wn, func(s *fitSet, i int) bool { return s.calibrates(i) })
		tiered.Correct, tiered.Wrong, tiered.Missed = tiered.Correct+r.Correct, tiered.Wrong+r.Wrong, tiered.Missed+r.Missed
		tiered.FalseHits, tiered.Positives, tiered.Negatives = tiered.FalseHits+r.FalseHits, tiered.Positives+r.Positives, tiered.Negatives+r.Negatives
	}
	t.Logf("  calibration with the tiers: %s", quality(tiered))
	// A distance's weight is distance + content words × distance x content
	// words: it should be negative (nearer is safer) at every length.
	for _, n := range []float64{5, 10, 20, 40} {
		t.Logf("  weight of the distance at %g content words: %+.2f", n,
			fitted.Weights[semantic.FeatureDistance]+n/10*fitted.Weights[semantic.FeatureLongDistance])
	}
	// A crowd of stored prompts near the query is where the embedder tells
	// prompts apart least: it must never make a pair more acceptable. In a
	// store where every query finds others within the threshold, the score
	// serves less, down to what the tiers serve.
	if w := fitted.Weights[semantic.FeatureNeighbours]; w >= 0 {
		t.Errorf("the neighbours' weight is %+.3f; want it negative", w)
	}
	all := func(*fitSet, int) bool { return true }
	for _, s := range sets {
		t.Logf("%s: %s", s.name, neighboursByLabel(s.queries))
		for _, n := range []float64{1, 2, 4} {
			t.Logf("%s with at least %g neighbours for every query: %s", s.name, n, quality(serveAt(crowded(s.queries, n), &fitted, fitted.Cutoff)))
		}
	}
	for _, s := range sets {
		// The simulation the cutoff is chosen by serves as the cache does.
		evaluated, err := semantic.Evaluate(context.Background(), s.vectors, s.set, semantic.EvalOptions{
			Thresholds: []float64{CacheDistanceThreshold},
			Verifier: func(th float64) semantic.Verifier {
				return &semantic.Checker{Lexicon: wn, Threshold: th, Score: &fitted}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		in := serveAt(pick([]*fitSet{s}, all), &fitted, fitted.Cutoff)
		if in != evaluated[0] {
			t.Errorf("%s: the fit's serving (%s) differs from Evaluate's (%s)", s.name, quality(in), quality(evaluated[0]))
		}
		t.Logf("%s in sample: %s; tiers: %s", s.name, quality(in), quality(tiers(t, s, wn, all)))
		if s.name == gptcacheData {
			heldOut := func(s *fitSet, i int) bool { return !s.calibrates(i) }
			t.Logf("%s held out (i%%4 in {2,3}): %s; tiers: %s", s.name,
				quality(serveAt(pick([]*fitSet{s}, heldOut), &fitted, fitted.Cutoff)), quality(tiers(t, s, wn, heldOut)))
			continue
		}
		others := fitAcceptance(pick(sets, func(o *fitSet, i int) bool { return o != s && o.calibrates(i) }))
		t.Logf("%s left out: %s (fitted on the others: %s)", s.name, quality(serveAt(s.queries, &others, others.Cutoff)), others.String())
	}
}

// neighboursByLabel is the mean of the neighbours of the candidates the
// score decides (they pass every check, beyond the tiers, with no nearer
// candidate a check rejected), right and wrong to serve.
func neighboursByLabel(queries []fitQuery) string {
	var sum, n [2]float64
	for _, q := range queries {
		for _, c := range q.cands {
			if !semantic.WithinTiers(c.f) && !c.nearerDiffers {
				k := int(b2f(c.right))
				sum[k] += c.f[semantic.FeatureNeighbours]
				n[k]++
			}
		}
	}
	return fmt.Sprintf("beyond the tiers, %.0f candidates right to serve have %.2f neighbours on average, %.0f wrong ones %.2f",
		n[1], sum[1]/max(n[1], 1), n[0], sum[0]/max(n[0], 1))
}

// crowded is queries as a store with at least n other entries within the
// threshold of every query would show them.
func crowded(queries []fitQuery, n float64) []fitQuery {
	out := make([]fitQuery, len(queries))
	for i, q := range queries {
		q.cands = slices.Clone(q.cands)
		for j := range q.cands {
			q.cands[j].f[semantic.FeatureNeighbours] = max(q.cands[j].f[semantic.FeatureNeighbours], n)
		}
		out[i] = q
	}
	return out
}

// sameModel: the same model up to the rounding of the generated file.
func sameModel(a, b semantic.AcceptModel) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-6*max(1, math.Abs(x)) }
	for i := range a.Weights {
		if !near(a.Weights[i], b.Weights[i]) {
			return false
		}
	}
	return near(a.Bias, b.Bias) && near(a.Cutoff, b.Cutoff)
}

// weightsSource is semantic/accept_weights.go for model m.
func weightsSource(m semantic.AcceptModel) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by `go test ./providers/local/ -run TestFitAcceptance -update`; DO NOT EDIT.\n\n")
	b.WriteString("package semantic\n\n")
	b.WriteString("// acceptModel is fitted on testdata/quality/everyday-a.jsonl, everyday-b.jsonl,\n")
	b.WriteString("// everyday-c.jsonl and the GPTCache pairs with i%4 in {0, 1}, with the local\n")
	b.WriteString("// embedder and WordNet at the cache's default threshold (README, Cache quality).\n")
	b.WriteString("var acceptModel = AcceptModel{\n\tWeights: Features{\n")
	for i, w := range m.Weights {
		fmt.Fprintf(&b, "\t\t%s, // %s\n", strconv.FormatFloat(w, 'g', 10, 64), semantic.FeatureNames[i])
	}
	fmt.Fprintf(&b, "\t},\n\tBias:   %s,\n\tCutoff: %s,\n}\n", strconv.FormatFloat(m.Bias, 'g', 10, 64), strconv.FormatFloat(m.Cutoff, 'g', 10, 64))
	return format.Source(b.Bytes())
}

// The fit recovers the weights that made the labels, and leaves the
// features that say nothing at zero.
func TestLogistic(t *testing.T) {
	var x []semantic.Features
	var y []float64
	for i := range 101 {
		var f semantic.Features
		f[semantic.FeatureDistance] = float64(i) / 100
		p := 1 / (1 + math.Exp(-(2 - 4*f[semantic.FeatureDistance])))
		for k := range 100 {
			x = append(x, f)
			y = append(y, b2f(float64(k) < 100*p))
		}
	}
	m := logistic(x, y)
	if math.Abs(m.Bias-2) > 0.1 || math.Abs(m.Weights[semantic.FeatureDistance]+4) > 0.1 {
		t.Errorf("fit %s; want bias 2, distance -4", m.String())
	}
	for i, w := range m.Weights {
		if i != semantic.FeatureDistance && w != 0 {
			t.Errorf("fit %s: weight %v for %s, a constant", m.String(), w, semantic.FeatureNames[i])
		}
	}
}

// The cutoff is the lowest that keeps wrong answers within maxBadShare of
// hits: above a negative's score, below the positive above it.
func TestChooseCutoff(t *testing.T) {
	m := &semantic.AcceptModel{Bias: 5}
	m.Weights[semantic.FeatureDistance] = -10
	// Three of six content words unaligned: beyond the tiers from an
	// eighth of the threshold on, so the score decides every candidate.
	at := func(d float64) semantic.Features {
		var f semantic.Features
		f[semantic.FeatureDistance] = d
		f[semantic.FeatureUnaligned] = 3
		f[semantic.FeatureShare] = 0.5
		return f
	}
	queries := []fitQuery{
		{want: 0, exact: -1, cands: []fitCand{{index: 0, f: at(0.2), right: true}}}, // score 0.95
		{want: -1, exact: -1, cands: []fitCand{{index: 1, f: at(0.3)}}},             // 0.88
		{want: 2, exact: -1, cands: []fitCand{{index: 2, f: at(0.5), right: true}}}, // 0.5
		// 0.92, but after a candidate a check rejected: never the score's
		// to serve, so no cutoff is drawn at its score.
		{want: -1, exact: -1, cands: []fitCand{{index: 3, f: at(0.25), nearerDiffers: true}}},
	}
	cut := chooseCutoff(queries, m)
	if lo, hi := m.Score(at(0.3)), m.Score(at(0.2)); cut != (lo+hi)/2 {
		t.Errorf("cutoff %v; want it halfway between the negative's score %v and the first positive's %v", cut, lo, hi)
	}
	if r := serveAt(queries, m, cut); r.Correct != 1 || r.FalseHits != 0 {
		t.Errorf("at the cutoff: %s", quality(r))
	}
}

// tiers is what the default verifier (the distance tiers) serves to the
// queries of s for which keep is true.
func tiers(t *testing.T, s *fitSet, wn *lexicon.WordNet, keep func(s *fitSet, i int) bool) semantic.EvalRow {
	t.Helper()
	sub := semantic.EvalSet{Stored: s.set.Stored}
	for i, q := range s.set.Queries {
		if keep(s, i) {
			sub.Queries = append(sub.Queries, q)
		}
	}
	rows, err := semantic.Evaluate(context.Background(), s.vectors, sub, semantic.EvalOptions{
		Thresholds: []float64{CacheDistanceThreshold},
		Verifier:   func(th float64) semantic.Verifier { return &semantic.Checker{Lexicon: wn, Threshold: th} },
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows[0]
}
