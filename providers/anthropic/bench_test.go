package anthropic

import (
	"strings"
	"testing"
)

func BenchmarkParseRequest(b *testing.B) {
	turn := `{"role":"user","content":"` + strings.Repeat("lorem ipsum ", 50) + `"},{"role":"assistant","content":[{"type":"text","text":"ok"}]},`
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be brief.","messages":[` + strings.Repeat(turn, 10) + `{"role":"user","content":"last"}]}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := (Messages{}).ParseRequest(body, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCaptureSSE(b *testing.B) {
	stream := fixture(b, "stream.sse")
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		if _, err := capture(true, testLimit, stream); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReplaySSE(b *testing.B) {
	stored, err := capture(false, testLimit, fixture(b, "message.json"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := (Messages{}).Replay(stored.Record, streamRequest); err != nil {
			b.Fatal(err)
		}
	}
}
