package local

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/semproc/semproc/internal/race"
	"github.com/semproc/semproc/providers/lexicon"
	"github.com/semproc/semproc/semantic"
)

// gptcacheData is the GPTCache paraphrase benchmark, vendored with its
// licence.
const gptcacheData = "../../testdata/gptcache/mock_data.json"

// precomputed serves vectors embedded ahead of time, on every core: the
// evaluation itself embeds one text at a time. The model's input limit
// (Fits) still applies, as in the cache.
type precomputed struct {
	*Embedder
	vectors map[string][]float32
}

var (
	_ semantic.Embedder     = precomputed{}
	_ semantic.InputLimiter = precomputed{}
)

func (p precomputed) Embed(_ context.Context, text string) ([]float32, error) {
	v, ok := p.vectors[text]
	if !ok {
		return nil, errors.New("text not embedded ahead")
	}
	return v, nil
}

// embedded keeps every text's vector for the process: the quality tests
// embed the same sets, and the model is the same for all of them.
var embedded = struct {
	sync.Mutex
	vectors map[string][]float32
}{vectors: map[string][]float32{}}

func embedAll(tb testing.TB, e *Embedder, s semantic.EvalSet) precomputed {
	texts := append([]string(nil), s.Stored...)
	for _, q := range s.Queries {
		texts = append(texts, q.Text)
	}
	out := precomputed{e, make(map[string][]float32, len(texts))}
	var wg sync.WaitGroup
	next := make(chan string)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for text := range next {
				v, err := e.Embed(context.Background(), text)
				if err != nil {
					tb.Error(err)
					continue
				}
				embedded.Lock()
				embedded.vectors[text] = v
				embedded.Unlock()
			}
		})
	}
	for _, text := range texts {
		embedded.Lock()
		_, done := embedded.vectors[text]
		embedded.Unlock()
		if !done {
			next <- text
		}
	}
	close(next)
	wg.Wait()
	embedded.Lock()
	defer embedded.Unlock()
	for _, text := range texts {
		if v, ok := embedded.vectors[text]; ok {
			out.vectors[text] = v
		}
	}
	return out
}

// qualitySets are the calibration sets: GPTCache's paraphrases
// (machine-learning docs), and three hand-written sets of everyday prompts
// with hard near-misses. The verifier's checks were designed on them and
// the acceptance score is fitted on them (everyday-c, written apart from
// them and held out at first, calibrated the later checks).
var qualitySets = []string{
	gptcacheData,
	"../../testdata/quality/everyday-a.jsonl",
	"../../testdata/quality/everyday-b.jsonl",
	"../../testdata/quality/everyday-c.jsonl",
}

// unseenSets are written blind and never fitted on: everyday-d, -e and
// -g served to develop checks once measured; everyday-f, -h and -i were
// held out, measured only (testdata/quality/README.md). everyday-j is
// reserved for the next round, and no test reads it.
var unseenSets = []string{
	"../../testdata/quality/everyday-d.jsonl",
	"../../testdata/quality/everyday-e.jsonl",
	"../../testdata/quality/everyday-f.jsonl",
	"../../testdata/quality/everyday-g.jsonl",
	"../../testdata/quality/everyday-h.jsonl",
	"../../testdata/quality/everyday-i.jsonl",
}

// TestCacheQuality measures the shipped defaults as a cache serves: the
// verifier with WordNet at CacheDistanceThreshold, against distance alone
// at CacheDistanceThresholdWithoutVerifier (go test -v -run CacheQuality
// prints both). On every set the verifier must answer at least as many
// positives correctly as distance alone at its default, serve a smaller
// share of wrong answers than distance alone at the first threshold that
// answers as many, and stay within the figures measured when the defaults
// were chosen.
func TestCacheQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 6,000 texts")
	}
	if race.Enabled {
		t.Skip("a measurement, not a concurrency test: it runs without -race (make test; CI runs it so after the race run)")
	}
	e := testEmbedder(t)
	wn := testWordNet(t)
	// Floors measured at the defaults, with a little room (README, Cache
	// quality): correct answers among positives, wrong answers among hits.
	// GPTCache's twelve wrong and false hits all restate the stored
	// text's fact (its origins repeat facts): its ceiling is a regression
	// guard.
	floors := map[string]struct{ correct, bad float64 }{
		gptcacheData: {0.45, 0.055},
		"../../testdata/quality/everyday-a.jsonl": {0.53, 0.02},
		"../../testdata/quality/everyday-b.jsonl": {0.60, 0.045},
		"../../testdata/quality/everyday-c.jsonl": {0.51, 0.045},
		// Guards against a regression, not a target.
		"../../testdata/quality/everyday-d.jsonl": {0.47, 0.10},
		"../../testdata/quality/everyday-e.jsonl": {0.31, 0.23},
		"../../testdata/quality/everyday-f.jsonl": {0.47, 0.12},
		"../../testdata/quality/everyday-g.jsonl": {0.49, 0.20},
		"../../testdata/quality/everyday-h.jsonl": {0.49, 0.165},
		"../../testdata/quality/everyday-i.jsonl": {0.58, 0.15},
	}
	for _, name := range append(slices.Clone(qualitySets), unseenSets...) {
		set, err := semantic.ReadEvalFile(name)
		if err != nil {
			t.Fatal(err)
		}
		vectors := embedAll(t, e, set)
		verified, err := semantic.Evaluate(context.Background(), vectors, set, semantic.EvalOptions{
			Thresholds: []float64{CacheDistanceThreshold},
			Verifier:   func(th float64) semantic.Verifier { return semantic.NewChecker(wn, th) },
		})
		if err != nil {
			t.Fatal(err)
		}
		numbersOnly := map[string]bool{}
		for _, c := range semantic.Checks {
			numbersOnly[c] = c != semantic.CheckNumbers
		}
		// Distance alone at its default, and at every threshold up to 0.5:
		// the verifier must answer more than the one and, at as many
		// correct answers, serve a smaller share of wrong ones than the
		// other (no threshold buys its answers more cheaply).
		plain, err := semantic.Evaluate(context.Background(), vectors, set, semantic.EvalOptions{
			Thresholds: append([]float64{CacheDistanceThresholdWithoutVerifier}, semantic.Thresholds(0.01, 0.5, 0.01)...),
			Verifier:   func(th float64) semantic.Verifier { return &semantic.Checker{Threshold: th, Without: numbersOnly} },
		})
		if err != nil {
			t.Fatal(err)
		}
		v, p := verified[0], plain[0]
		same := plain[len(plain)-1]
		for _, r := range plain[1:] {
			if r.Correct >= v.Correct {
				same = r
				break
			}
		}
		t.Logf("%s\n  verifier on:  %s\n  verifier off: %s\n  as many correct by distance alone: %s", name, quality(v), quality(p), quality(same))
		if v.Correct < p.Correct || v.BadShare() >= same.BadShare() {
			t.Errorf("%s: the verifier (%s) does worse than distance alone (%s; %s)", name, quality(v), quality(p), quality(same))
		}
		if fl := floors[name]; v.CorrectRate() < fl.correct || v.BadShare() > fl.bad {
			t.Errorf("%s: %s; want at least %.0f%% correct and at most %.1f%% of hits wrong", name, quality(v), 100*fl.correct, 100*fl.bad)
		}
	}
}

func quality(r semantic.EvalRow) string {
	return fmt.Sprintf("threshold %g: %d of %d positives correct (%.1f%%), %d wrong + %d false of %d hits (%.1f%%)",
		r.Threshold, r.Correct, r.Positives, 100*r.CorrectRate(), r.Wrong, r.FalseHits, r.Correct+r.Wrong+r.FalseHits, 100*r.BadShare())
}

// testWordNet is the pulled WordNet, as the server loads it.
func testWordNet(tb testing.TB) *lexicon.WordNet {
	tb.Helper()
	dir, err := DefaultWordNetDir()
	if err != nil {
		tb.Fatal(err)
	}
	if err := VerifyWordNet(dir); errors.Is(err, ErrWordNetMissing) {
		tb.Skipf("%v: run `make model` to fetch it", err)
	} else if err != nil {
		tb.Fatal(err)
	}
	w, err := lexicon.LoadWordNet(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}
