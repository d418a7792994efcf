package openai

import (
	"testing"

	"github.com/semproc/semproc/semantic"
)

// typicalChat is a chat request as agents send them: a system prompt, a few
// turns, a tool definition and sampling options.
const typicalChat = `{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":512,"stream":true,"stream_options":{"include_usage":true},
"messages":[
 {"role":"system","content":"You are a helpful assistant for an online bookshop. Answer briefly and politely; when you do not know, say so."},
 {"role":"user","content":"Do you have The Name of the Rose in paperback?"},
 {"role":"assistant","content":"Yes, we have it in paperback for 12.90 EUR, shipped within two days."},
 {"role":"user","content":[{"type":"text","text":"Great. How long would delivery to Lyon take, and can I pay by bank transfer?"}]}],
"tools":[{"type":"function","function":{"name":"shipping_estimate","description":"Delivery time to a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
"user":"customer-1234","metadata":{"session":"abc"}}`

func BenchmarkChatParseRequest(b *testing.B) {
	body := []byte(typicalChat)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (Chat{}).ParseRequest(body, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatSetModel(b *testing.B) {
	body := []byte(typicalChat)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (Chat{}).SetModel(body, "gpt-4o"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatReplay(b *testing.B) {
	rec := stored(b, Chat{}, "chat.sse")
	for _, bc := range []struct {
		name string
		req  *semantic.Request
	}{{"json", &semantic.Request{}}, {"stream", &semantic.Request{Stream: true, IncludeUsage: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := (Chat{}).Replay(rec, bc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkChatCaptureSSE(b *testing.B) {
	body := fixture(b, "chat.sse")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := feed(Chat{}, true, 0, body, len(body)/3, 2*len(body)/3); err != nil {
			b.Fatal(err)
		}
	}
}
