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
		{"128tokens", strings.Join(strings.Fields(strings.Repeat("Caching answers saves tokens and time. ", 40))[:120], " ")},
		{"16KiB", prefix(strings.Repeat("Caching answers saves tokens, time and money for everyone. ", 400), maxTokenizedBytes)},
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
