package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func userPrompt(model, system, prompt string) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}}
	if system != "" {
		p.Messages = append([]openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system)}, p.Messages...)
	}
	return p
}

// ask sends a non-streaming request with the SDK and returns the answer
// and the response headers.
func ask(t *testing.T, c openai.Client, p openai.ChatCompletionNewParams, opts ...option.RequestOption) (string, http.Header) {
	t.Helper()
	var resp *http.Response
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.Chat.Completions.New(ctx, p, append(opts, option.WithResponseInto(&resp))...)
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	return out.Choices[0].Message.Content, resp.Header
}

// askStream streams with the SDK and returns the accumulated completion.
func askStream(t *testing.T, c openai.Client, p openai.ChatCompletionNewParams) (openai.ChatCompletionAccumulator, http.Header) {
	t.Helper()
	var resp *http.Response
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := c.Chat.Completions.NewStreaming(context.Background(), p, option.WithResponseInto(&resp))
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return acc, resp.Header
}

func TestE2EMissThenHits(t *testing.T) {
	e := startE2E(t, nil)
	c := e.client("sk-tenant-a")
	first, h := ask(t, c, userPrompt("gpt-4o-mini", "", "What is the capital of France?"))
	if h.Get("X-Cache-Status") != "Miss" || e.upstream.Calls.Load() != 1 {
		t.Fatalf("first request: status %q, upstream calls %d", h.Get("X-Cache-Status"), e.upstream.Calls.Load())
	}
	e.waitStored(t, 1)

	exact, h := ask(t, c, userPrompt("gpt-4o-mini", "", "What is the capital of France?"))
	if h.Get("X-Cache-Status") != "Hit" || exact != first || h.Get("X-Cache-Distance") != "0" || e.upstream.Calls.Load() != 1 {
		t.Fatalf("exact repeat: status %q distance %q answer %q, upstream calls %d", h.Get("X-Cache-Status"), h.Get("X-Cache-Distance"), exact, e.upstream.Calls.Load())
	}
	if !strings.HasPrefix(h.Get("X-Cache-Key"), "semproc:memory:text-embedding-3-small:64:") || h.Get("Age") == "" || h.Get("X-Cache-Ttl") == "" {
		t.Errorf("hit headers: key %q age %q ttl %q", h.Get("X-Cache-Key"), h.Get("Age"), h.Get("X-Cache-Ttl"))
	}

	para, h := ask(t, c, userPrompt("gpt-4o-mini", "", "what is the capital of France please"))
	d, err := strconv.ParseFloat(h.Get("X-Cache-Distance"), 64)
	if h.Get("X-Cache-Status") != "Hit" || para != first || err != nil || d < 0.0001 || d > 0.3 {
		t.Fatalf("paraphrase: status %q distance %q", h.Get("X-Cache-Status"), h.Get("X-Cache-Distance"))
	}

	for name, p := range map[string]openai.ChatCompletionNewParams{
		"unrelated prompt": userPrompt("gpt-4o-mini", "", "How do volcanoes erupt?"),
		"another model":    userPrompt("gpt-4o", "", "What is the capital of France?"),
		"another system":   userPrompt("gpt-4o-mini", "Answer in French.", "What is the capital of France?"),
		"another temperature": func() openai.ChatCompletionNewParams {
			p := userPrompt("gpt-4o-mini", "", "What is the capital of France?")
			p.Temperature = openai.Float(0.9)
			return p
		}(),
	} {
		if _, h := ask(t, c, p); h.Get("X-Cache-Status") != "Miss" {
			t.Errorf("%s: %q, want Miss", name, h.Get("X-Cache-Status"))
		}
	}
	if _, h := ask(t, e.client("sk-tenant-b"), userPrompt("gpt-4o-mini", "", "What is the capital of France?")); h.Get("X-Cache-Status") != "Miss" {
		t.Errorf("another API key: %q, want Miss", h.Get("X-Cache-Status"))
	}
	for _, x := range e.proxy.Exchanges() {
		if x.FailedOpen != "" || x.Error != "" {
			t.Errorf("the stand-in saw a protocol failure: %q %q", x.FailedOpen, x.Error)
		}
	}
}

func TestE2EStreaming(t *testing.T) {
	e := startE2E(t, nil)
	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Name three primary colours"}]}`
	// What the upstream sends, asked directly, for the byte comparison.
	direct, err := http.Post(e.upstreamURL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, direct)
	e.upstream.Calls.Store(0)

	resp, got := e.rawPost(t, "/v1/chat/completions", body, "Authorization", "Bearer k")
	if resp.Header.Get("X-Cache-Status") != "Miss" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream miss: %q %q", resp.Header.Get("X-Cache-Status"), resp.Header.Get("Content-Type"))
	}
	// The fake numbers its answers by call; both were its first call.
	if !bytes.Equal(got, want) {
		t.Errorf("streamed miss differs from the upstream's stream:\n got %q\nwant %q", got, want)
	}
	e.waitStored(t, 1)

	acc, h := askStream(t, e.client("k"), userPrompt("gpt-4o-mini", "", "Name three primary colours"))
	if h.Get("X-Cache-Status") != "Hit" || e.upstream.Calls.Load() != 1 {
		t.Fatalf("stream hit: status %q, upstream calls %d", h.Get("X-Cache-Status"), e.upstream.Calls.Load())
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != "Answer 1 to: Name three primary colours" || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("replayed stream read back by the SDK: %+v", acc.Choices)
	}
	answer, h := ask(t, e.client("k"), userPrompt("gpt-4o-mini", "", "Name three primary colours"))
	if h.Get("X-Cache-Status") != "Hit" || answer != "Answer 1 to: Name three primary colours" {
		t.Errorf("JSON hit of an entry stored from a stream: %q %q", h.Get("X-Cache-Status"), answer)
	}
}

func readAll(t *testing.T, r *http.Response) []byte {
	t.Helper()
	defer r.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestE2ECacheControl(t *testing.T) {
	e := startE2E(t, nil)
	c := e.client("k")
	p := userPrompt("m", "", "Explain photosynthesis briefly")
	if _, h := ask(t, c, p, option.WithHeader("Cache-Control", "no-store")); h.Get("X-Cache-Status") != "Bypass" {
		t.Errorf("no-store: %q", h.Get("X-Cache-Status"))
	}
	if _, h := ask(t, c, p, option.WithHeader("Cache-Control", "no-cache")); h.Get("X-Cache-Status") != "Refresh" {
		t.Errorf("no-cache: %q", h.Get("X-Cache-Status"))
	}
	e.waitStored(t, 1)
	if _, h := ask(t, c, p); h.Get("X-Cache-Status") != "Hit" {
		t.Errorf("after a refresh: %q", h.Get("X-Cache-Status"))
	}
	if _, h := ask(t, c, p, option.WithHeader("Cache-Control", "no-store")); h.Get("X-Cache-Status") != "Bypass" || e.upstream.Calls.Load() != 3 {
		t.Errorf("no-store on a cached prompt: %q, upstream calls %d", h.Get("X-Cache-Status"), e.upstream.Calls.Load())
	}
}

func TestE2ENothingStoredFromBadAnswers(t *testing.T) {
	for _, mode := range []string{"500", "length", "truncate"} {
		t.Run(mode, func(t *testing.T) {
			e := startE2E(t, nil)
			e.upstream.SetMode(mode)
			body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"Tell me a story"}]}`
			for range 2 {
				resp, _ := e.rawPost(t, "/v1/chat/completions", body)
				if got := resp.Header.Get("X-Cache-Status"); got != "Miss" {
					t.Errorf("status %q, want Miss", got)
				}
			}
			if e.upstream.Calls.Load() != 2 {
				t.Errorf("upstream calls %d, want 2: a bad answer was served from the cache", e.upstream.Calls.Load())
			}
			if n := e.metric(t, "semproc_cache_stores_total", "result", "stored"); n != 0 {
				t.Errorf("%v completions stored", n)
			}
		})
	}
}

func TestE2EEmbeddingsDownFailsOpen(t *testing.T) {
	for _, mode := range []string{"500", "hang", "garbage", "dims"} {
		t.Run(mode, func(t *testing.T) {
			e := startE2E(t, nil)
			e.embed.setMode(mode)
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second) // a hang guard, not a speed check
			defer cancel()
			var resp *http.Response
			c := e.client("k")
			out, err := c.Chat.Completions.New(ctx, userPrompt("m", "", "Is the sky blue?"), option.WithResponseInto(&resp))
			if err != nil {
				t.Fatalf("request not served: %v", err)
			}
			if resp.Header.Get("X-Cache-Status") != "Failed" || !strings.Contains(out.Choices[0].Message.Content, "Is the sky blue?") {
				t.Errorf("status %q answer %q", resp.Header.Get("X-Cache-Status"), out.Choices[0].Message.Content)
			}
			if n := e.metric(t, "semproc_failures_total", "stage", "lookup"); n < 1 {
				t.Error("the failure was not counted")
			}
			// Nothing was stored: the provider back, the same prompt is
			// still a miss that goes upstream.
			e.embed.setMode("")
			if _, err := c.Chat.Completions.New(ctx, userPrompt("m", "", "Is the sky blue?"), option.WithResponseInto(&resp)); err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("X-Cache-Status"); got != "Miss" || e.upstream.Calls.Load() != 2 {
				t.Errorf("after recovery: status %q, upstream calls %d; want a Miss that went upstream", got, e.upstream.Calls.Load())
			}
		})
	}
}

func TestE2EBadInputPassesThrough(t *testing.T) {
	e := startE2E(t, nil)
	huge := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("long prompt ", 440_000) + `"}]}`
	tests := []struct {
		name, body, status string
	}{
		{"not JSON", `{"model":`, "Bypass"},
		{"empty", ``, "Bypass"},
		{"JSON array", `[{"role":"user"}]`, "Bypass"},
		{"5 MiB prompt", huge, "Miss"},
		{"unknown fields", `{"model":"m","frobnicate":{"x":[1,2]},"messages":[{"role":"user","content":"hi","extra":true}]}`, "Miss"},
		{"content parts", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"text","text":"this"}]}]}`, "Miss"},
		{"image in the window", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`, "Bypass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.upstream.Calls.Load()
			resp, _ := e.rawPost(t, "/v1/chat/completions", tt.body)
			if got := resp.Header.Get("X-Cache-Status"); got != tt.status {
				t.Errorf("X-Cache-Status %q, want %q", got, tt.status)
			}
			if e.upstream.Calls.Load() != before+1 {
				t.Error("the request did not reach the upstream")
			}
		})
	}
	for _, x := range e.proxy.Exchanges() {
		if x.FailedOpen != "" || x.Error != "" {
			t.Errorf("protocol failure on bad input: %q %q", x.FailedOpen, x.Error)
		}
	}
}

func TestE2EHealthAndReadiness(t *testing.T) {
	e := startE2E(t, nil)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		resp, err := http.Get("http://" + e.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != want {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
		if path == "/readyz" && !bytes.Contains(body, []byte(`"store":{"state":"ok"`)) {
			t.Errorf("/readyz body %s", body)
		}
	}
}
