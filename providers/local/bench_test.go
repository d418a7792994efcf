package local

import (
	"context"
	"strings"
	"testing"
)

// go test -run '^$' -bench Embed -cpu 1,2 ./providers/local/
func BenchmarkEmbed(b *testing.B) {
	e := testEmbedder(b)
	long := strings.TrimSpace(strings.Repeat("Caching answers saves tokens and time. ", 8))
	for _, bc := range []struct{ name, text string }{
		{"short", "Who is Joseph Conrad?"},
		{"100tokens", long},
		{"128tokens", firstTokens(e, longPrompt, MaxTokens)},
		{"16KiB", longPrompt},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportMetric(float64(len(e.tok.encode(bc.text))), "tokens")
			ctx := context.Background()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Embed(ctx, bc.text); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// longPrompt is 16 KiB of English, the most the tokenizer reads.
var longPrompt = prefix(strings.Repeat("Caching answers saves tokens, time and money for everyone. ", 400), maxTokenizedBytes)

// firstTokens is the longest run of text's first words that is at most n
// tokens.
func firstTokens(e *Embedder, text string, n int) string {
	words := strings.Fields(text)
	k := 1
	for k < len(words) && len(e.tok.encode(strings.Join(words[:k+1], " "))) <= n {
		k++
	}
	return strings.Join(words[:k], " ")
}

// go test -run '^$' -bench Tokenize -cpu 1 ./providers/local/
// "read" is what Embed tokenises of a 16 KiB prompt, "whole" the whole of
// it (what Embed did before).
func BenchmarkTokenize(b *testing.B) {
	e := testEmbedder(b)
	b.Run("16KiB/read", func(b *testing.B) {
		for b.Loop() {
			e.tokens(longPrompt)
		}
	})
	b.Run("16KiB/whole", func(b *testing.B) {
		for b.Loop() {
			e.tok.encode(longPrompt)
		}
	})
}
