package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/semproc/semproc/internal/fakellm"
	"github.com/semproc/semproc/internal/race"
	"github.com/semproc/semproc/providers/local"
	"github.com/semproc/semproc/semantic"
)

// qualitySets are the labelled sets of the README's "Cache quality".
var qualitySets = []string{
	"../../testdata/gptcache/mock_data.json",
	"../../testdata/quality/everyday-a.jsonl",
	"../../testdata/quality/everyday-b.jsonl",
	"../../testdata/quality/everyday-c.jsonl",
	"../../testdata/quality/everyday-d.jsonl",
	"../../testdata/quality/everyday-e.jsonl",
	"../../testdata/quality/everyday-f.jsonl",
}

// TestCacheQualityThroughTheRequestPath runs the quality protocol through
// the whole product on its defaults (the local model, the WordNet verifier,
// the memory store): each set's stored prompts are sent once and their
// answers stored, then every query is sent, and what comes back is scored
// by the prompt its answer was stored for. The request path must serve
// exactly what `semproc eval` (semantic.Evaluate) predicts, so the figures
// the README quotes from eval are the product's own.
func TestCacheQualityThroughTheRequestPath(t *testing.T) {
	switch {
	case testing.Short():
		t.Skip("embeds 3,500 texts through the stand-in")
	case race.Enabled:
		t.Skip("a measurement, not a concurrency test: it runs without -race (make test; CI runs it so after the race run)")
	}
	cfg, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	lex := newLexicon(cfg, slog.New(slog.DiscardHandler))
	th := defaultCacheThreshold(cfg)
	cfg.CacheEnabled = false // the evaluator embeds; it needs no store
	tool, err := buildForTool(context.Background(), cfg)
	if errors.Is(err, local.ErrModelMissing) {
		t.Skipf("%v: run `make model` to fetch it", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tool.close() })
	e := startE2E(t, map[string]string{
		"SEMPROC_EMBEDDINGS_PROVIDER": "local", "SEMPROC_EMBEDDINGS_URL": "", "SEMPROC_EMBEDDINGS_DIMENSIONS": "",
		"SEMPROC_EMBEDDINGS_TIMEOUT": "", "SEMPROC_CACHE_DISTANCE_THRESHOLD": "",
	})

	var stored float64
	for n, name := range qualitySets {
		set, err := semantic.ReadEvalFile(name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := semantic.Evaluate(context.Background(), tool.embedder, set, semantic.EvalOptions{
			Thresholds: []float64{th},
			Verifier:   func(th float64) semantic.Verifier { return newVerifier(cfg, lex, th) },
		})
		if err != nil {
			t.Fatal(err)
		}

		// Each set is a tenant of its own, so the sets never meet.
		tenant := fmt.Sprintf("Bearer quality-%d", n)
		ask := func(text string, headers ...string) (status, answer string) {
			body, _ := json.Marshal(map[string]any{"model": "gpt-4o-mini", "messages": []map[string]string{{"role": "user", "content": text}}})
			resp, b := e.rawPost(t, "/v1/chat/completions", string(body), append([]string{"Authorization", tenant}, headers...)...)
			var c struct {
				Choices []struct {
					Message struct{ Content string } `json:"message"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(b, &c); err != nil || len(c.Choices) != 1 {
				t.Fatalf("%q: answer %s (%v)", text, b, err)
			}
			return resp.Header.Get("X-Cache-Status"), c.Choices[0].Message.Content
		}
		// no-cache stores every prompt, even one that a stored one would
		// answer: the protocol stores them all.
		e.upstream.SetMode(fakellm.ModeNormal)
		for _, text := range set.Stored {
			if status, _ := ask(text, "Cache-Control", "no-cache"); status != "Refresh" {
				t.Fatalf("storing %q: X-Cache-Status %q", text, status)
			}
		}
		stored += float64(len(set.Stored))
		e.waitStored(t, stored)

		// The upstream now forbids storing, so a query that misses leaves
		// nothing behind for the next one.
		e.upstream.SetMode(fakellm.ModeNoStore)
		index := map[string]int{}
		for i, text := range set.Stored {
			if _, seen := index[text]; !seen {
				index[text] = i // the evaluator's rule for identical stored texts
			}
		}
		got := semantic.EvalRow{Threshold: th}
		for _, q := range set.Queries {
			status, answer := ask(q.Text)
			served := -1
			switch status {
			case "Hit":
				_, prompt, ok := strings.Cut(answer, " to: ")
				i, known := index[prompt]
				if !ok || !known {
					t.Fatalf("%q: a hit with an answer to no stored prompt: %q", q.Text, answer)
				}
				served = i
			case "Miss":
			default:
				t.Fatalf("%q: X-Cache-Status %q", q.Text, status)
			}
			got.Score(q, served)
		}
		t.Logf("%s: %s", name, quality(got))
		if got != want[0] {
			t.Errorf("%s: the request path served %s; semproc eval predicts %s", name, quality(got), quality(want[0]))
		}
	}
	e.checkExchanges(t)
}

func quality(r semantic.EvalRow) string {
	return fmt.Sprintf("%d of %d positives correct (%.1f%%), %d wrong + %d false of %d hits (%.1f%%)",
		r.Correct, r.Positives, 100*r.CorrectRate(), r.Wrong, r.FalseHits, r.Correct+r.Wrong+r.FalseHits, 100*r.BadShare())
}
