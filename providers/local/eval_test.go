package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/semproc/semproc/semantic"
)

// gptcacheData is the GPTCache paraphrase benchmark, vendored with its
// licence.
const gptcacheData = "../../testdata/gptcache/mock_data.json"

func formatRows(rows []semantic.EvalRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%9s %7s %5s %6s %9s %14s\n", "threshold", "correct", "wrong", "missed", "falsehits", "false-hit rate")
	for _, r := range rows {
		fmt.Fprintf(&b, "%9.4f %7d %5d %6d %9d %13.2f%%\n", r.Threshold, r.Correct, r.Wrong, r.Missed, r.FalseHits, 100*r.FalseHitRate())
	}
	return b.String()
}

// precomputed serves vectors embedded ahead of time, on every core: the
// evaluation itself embeds one text at a time.
type precomputed map[string][]float32

var _ semantic.Embedder = precomputed(nil)

func (p precomputed) Embed(_ context.Context, text string) ([]float32, error) {
	v, ok := p[text]
	if !ok {
		return nil, errors.New("text not embedded ahead")
	}
	return v, nil
}

func embedAll(tb testing.TB, e *Embedder, s semantic.EvalSet) precomputed {
	texts := append([]string(nil), s.Stored...)
	for _, q := range s.Queries {
		texts = append(texts, q.Text)
	}
	out := make(precomputed, len(texts))
	var mu sync.Mutex
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
				mu.Lock()
				out[text] = v
				mu.Unlock()
			}
		})
	}
	for _, text := range texts {
		next <- text
	}
	close(next)
	wg.Wait()
	return out
}

// TestCacheThresholdOnGPTCache runs the threshold evaluation with the local
// model (go test -v -run GPTCache prints the table) and checks the shipped
// default against it.
func TestCacheThresholdOnGPTCache(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 1,500 texts")
	}
	e := testEmbedder(t)
	f, err := os.Open(gptcacheData)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := semantic.ReadEvalSet(f)
	if err != nil {
		t.Fatal(err)
	}
	thresholds := semantic.Thresholds(0.05, 0.5, 0.05)
	thresholds = append(thresholds, semantic.Thresholds(0.02, 0.045, 0.0025)...)
	thresholds = append(thresholds, CacheDistanceThreshold)
	rows, err := semantic.Evaluate(context.Background(), embedAll(t, e, set), set, thresholds)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GPTCache pairs, even origins stored, every similar asked:\n%s", formatRows(rows))
	if best, ok := semantic.Recommend(rows, 0.01); ok {
		t.Logf("most correct hits with at most 1%% false hits: %+v", best)
	}
	shipped := rows[len(rows)-1]
	if shipped.Positives != 500 || shipped.Negatives != 499 {
		t.Fatalf("%d positives and %d negatives, want 500 and 499", shipped.Positives, shipped.Negatives)
	}
	// The figures measured when the default was chosen, with a little room.
	if shipped.FalseHitRate() > 0.01 || shipped.Correct < 85 {
		t.Errorf("at the default threshold %g: %+v, want at most 1%% false hits and at least 85 correct",
			CacheDistanceThreshold, shipped)
	}
}
