package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semproc/semproc/internal/fakellm"
)

// fakeAnthropic answers POST /v1/messages like Anthropic's Messages API: a
// JSON message, or with "stream": true the SSE events message_start,
// content_block_start, content_block_delta (text_delta), content_block_stop,
// message_delta (stop reason, usage), message_stop. The answer echoes the
// last message, as fakellm.Chat does.
type fakeAnthropic struct {
	calls atomic.Int64
	mu    sync.Mutex
	stop  string // the stop_reason; "" is end_turn
}

func (f *fakeAnthropic) setStop(s string) { f.mu.Lock(); f.stop = s; f.mu.Unlock() }

func (f *fakeAnthropic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	f.mu.Lock()
	stop := cmp.Or(f.stop, "end_turn")
	f.mu.Unlock()
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if r.Header.Get("anthropic-version") == "" || json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Messages) == 0 {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	answer := fmt.Sprintf("Answer %d to: %s", n, messageText(req.Messages[len(req.Messages)-1].Content))
	usage := map[string]int{"input_tokens": 9, "output_tokens": 12}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "msg_1", "type": "message", "role": "assistant", "model": req.Model,
			"content":     []any{map[string]string{"type": "text", "text": answer}},
			"stop_reason": stop, "stop_sequence": nil, "usage": usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	event := func(name string, data map[string]any) {
		data["type"] = name
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		w.(http.Flusher).Flush()
	}
	event("message_start", map[string]any{"message": map[string]any{
		"id": "msg_2", "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]int{"input_tokens": 9, "output_tokens": 1},
	}})
	event("content_block_start", map[string]any{"index": 0, "content_block": map[string]string{"type": "text", "text": ""}})
	for _, word := range strings.SplitAfter(answer, " ") {
		event("content_block_delta", map[string]any{"index": 0, "delta": map[string]string{"type": "text_delta", "text": word}})
	}
	event("content_block_stop", map[string]any{"index": 0})
	event("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]int{"output_tokens": 12}})
	event("message_stop", map[string]any{})
}

// messageText is a message's content: a string, or its text blocks joined.
func messageText(content json.RawMessage) string {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s
	}
	var blocks []struct{ Text string }
	_ = json.Unmarshal(content, &blocks)
	var parts []string
	for _, b := range blocks {
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n")
}

// fakeLegacy answers POST /v1/completions like OpenAI's legacy
// completions: a text_completion whose choices carry text.
type fakeLegacy struct{ calls atomic.Int64 }

func (f *fakeLegacy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	var req struct {
		Model  string `json:"model"`
		Prompt string `json:"prompt"`
	}
	if json.NewDecoder(r.Body).Decode(&req) != nil || req.Prompt == "" {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "cmpl-1", "object": "text_completion", "created": 1700000000, "model": req.Model,
		"choices": []any{map[string]any{"text": fmt.Sprintf("Answer %d to: %s", n, req.Prompt), "index": 0, "logprobs": nil, "finish_reason": "stop"}},
		"usage":   map[string]int{"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
	})
}

// startFormats starts the harness with an upstream that also answers the
// Anthropic and legacy completions paths.
func startFormats(t *testing.T) (*e2e, *fakeAnthropic, *fakeLegacy) {
	t.Helper()
	messages, legacy := &fakeAnthropic{}, &fakeLegacy{}
	e := startE2EWith(t, nil, e2eOptions{upstream: func(chat *fakellm.Chat) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("POST /v1/messages", messages)
		mux.Handle("POST /v1/completions", legacy)
		mux.Handle("/", chat)
		return mux
	}})
	return e, messages, legacy
}

func anthropicClient(e *e2e, key string) anthropic.Client {
	return anthropic.NewClient(anthropicoption.WithBaseURL(e.url), anthropicoption.WithAPIKey(key),
		anthropicoption.WithMaxRetries(0), anthropicoption.WithoutOpenTelemetry(), anthropicoption.WithHTTPClient(drainingClient))
}

func anthropicParams(prompt string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))}}
}

// askClaude sends a Messages request, streaming or not, and returns the
// message (accumulated from the events when streaming) and X-Cache-Status.
func askClaude(t *testing.T, c anthropic.Client, prompt string, stream bool) (anthropic.Message, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hang guard
	defer cancel()
	var resp *http.Response
	into := anthropicoption.WithResponseInto(&resp)
	if !stream {
		m, err := c.Messages.New(ctx, anthropicParams(prompt), into)
		if err != nil {
			t.Fatalf("Messages.New: %v", err)
		}
		return *m, resp.Header.Get("X-Cache-Status")
	}
	s := c.Messages.NewStreaming(ctx, anthropicParams(prompt), into)
	defer s.Close()
	var m anthropic.Message
	for s.Next() {
		if err := m.Accumulate(s.Current()); err != nil {
			t.Fatalf("Accumulate: %v", err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return m, resp.Header.Get("X-Cache-Status")
}

func claudeText(m anthropic.Message) string {
	if len(m.Content) != 1 || m.Content[0].Type != "text" {
		return fmt.Sprintf("unexpected content %+v", m.Content)
	}
	return m.Content[0].Text
}

func TestE2EAnthropicMessages(t *testing.T) {
	e, upstream, _ := startFormats(t)
	c := anthropicClient(e, "sk-ant-a")
	prompts := map[bool]string{false: "What is the capital of France?", true: "Name three primary colours"}
	for i, stream := range []bool{false, true} {
		prompt := prompts[stream]
		first, status := askClaude(t, c, prompt, stream)
		want := fmt.Sprintf("Answer %d to: %s", i+1, prompt)
		if status != "Miss" || claudeText(first) != want || first.StopReason != anthropic.StopReasonEndTurn {
			t.Fatalf("stream %v, first: %s %q %q", stream, status, claudeText(first), first.StopReason)
		}
		e.waitStored(t, float64(i+1))
		// Each kind of entry serves both kinds of request.
		for _, again := range []bool{stream, !stream} {
			m, status := askClaude(t, c, prompt, again)
			if status != "Hit" || claudeText(m) != want || m.StopReason != anthropic.StopReasonEndTurn || m.Usage.OutputTokens != 12 {
				t.Errorf("stored from stream %v, asked with stream %v: %s %q %q usage %+v", stream, again, status, claudeText(m), m.StopReason, m.Usage)
			}
		}
	}
	if upstream.calls.Load() != 2 {
		t.Errorf("upstream calls %d, want 2", upstream.calls.Load())
	}
	if _, status := askClaude(t, anthropicClient(e, "sk-ant-b"), prompts[false], false); status != "Miss" {
		t.Errorf("another API key: %q, want Miss", status)
	}
	e.checkExchanges(t)
}

func TestE2EAnthropicMaxTokensNotStored(t *testing.T) {
	e, upstream, _ := startFormats(t)
	upstream.setStop("max_tokens")
	c := anthropicClient(e, "k")
	for _, stream := range []bool{false, true, false, true} {
		m, status := askClaude(t, c, "Write a long poem", stream)
		if status != "Miss" || m.StopReason != anthropic.StopReasonMaxTokens {
			t.Errorf("stream %v: %s %q", stream, status, m.StopReason)
		}
	}
	if upstream.calls.Load() != 4 {
		t.Errorf("upstream calls %d, want 4: a cut answer was served from the cache", upstream.calls.Load())
	}
	if n := e.metric(t, "semproc_cache_stores_total", "result", "stored"); n != 0 {
		t.Errorf("%v completions stored", n)
	}
	e.checkExchanges(t)
}

// azureClient is the OpenAI SDK sending Azure OpenAI's wire form: POST
// /openai/deployments/{deployment}/chat/completions?api-version=… with an
// api-key header. (The SDK's azure package would do the same, but needs
// the Azure SDK's azcore module, which this module does not require.)
func azureClient(e *e2e, deployment, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(e.url+"/openai/deployments/"+deployment+"/"),
		option.WithQuery("api-version", "2024-10-21"), option.WithHeader("api-key", key), option.WithMaxRetries(0),
		option.WithHTTPClient(drainingClient))
}

// drainingClient reads every response body to its end before closing it.
// The SDKs close a stream's body as soon as they have its last event, and
// the connection then drops while the stand-in may still be handing the
// body's empty end chunk to semproc; unlike Envoy, the stand-in does not
// end processing when the client goes away, so that exchange would never
// finish and Exchanges would wait for it forever.
var drainingClient = &http.Client{Transport: drainingTransport{}}

type drainingTransport struct{}

func (drainingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = drainOnClose{resp.Body}
	}
	return resp, err
}

type drainOnClose struct{ io.ReadCloser }

func (d drainOnClose) Close() error {
	_, _ = io.Copy(io.Discard, d.ReadCloser)
	return d.ReadCloser.Close()
}

func TestE2EAzureOpenAI(t *testing.T) {
	e, _, _ := startFormats(t)
	c := azureClient(e, "gpt-4o-dep", "azure-key-a")
	first, h := ask(t, c, userPrompt("gpt-4o", "", "What is the capital of France?"))
	up := e.lastExchange(t).UpstreamHeaders
	if h.Get("X-Cache-Status") != "Miss" || up.Get(":path") != "/openai/deployments/gpt-4o-dep/chat/completions?api-version=2024-10-21" ||
		up.Get("Api-Key") != "azure-key-a" || up.Get("Authorization") != "" {
		t.Fatalf("first: %q, upstream path %q, api-key %q, authorization %q", h.Get("X-Cache-Status"), up.Get(":path"), up.Get("Api-Key"), up.Get("Authorization"))
	}
	streamed, sh := askStream(t, c, userPrompt("gpt-4o", "", "Name three primary colours"))
	if sh.Get("X-Cache-Status") != "Miss" {
		t.Fatalf("first stream: %q", sh.Get("X-Cache-Status"))
	}
	e.waitStored(t, 2)

	if again, h := ask(t, c, userPrompt("gpt-4o", "", "What is the capital of France?")); h.Get("X-Cache-Status") != "Hit" || again != first {
		t.Errorf("JSON repeat: %q %q", h.Get("X-Cache-Status"), again)
	}
	acc, sh := askStream(t, c, userPrompt("gpt-4o", "", "Name three primary colours"))
	if sh.Get("X-Cache-Status") != "Hit" || len(acc.Choices) != 1 || acc.Choices[0].Message.Content != streamed.Choices[0].Message.Content || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("stream repeat: %q %+v", sh.Get("X-Cache-Status"), acc.Choices)
	}
	// The body's model stays the same: the deployment in the path is the
	// model, and the api-key the scope.
	for name, other := range map[string]openai.Client{
		"another deployment": azureClient(e, "gpt-4o-mini-dep", "azure-key-a"),
		"another api-key":    azureClient(e, "gpt-4o-dep", "azure-key-b"),
	} {
		if _, h := ask(t, other, userPrompt("gpt-4o", "", "What is the capital of France?")); h.Get("X-Cache-Status") != "Miss" {
			t.Errorf("%s: %q, want Miss", name, h.Get("X-Cache-Status"))
		}
	}
	if e.upstream.Calls.Load() != 4 {
		t.Errorf("upstream calls %d, want 4", e.upstream.Calls.Load())
	}
	e.checkExchanges(t)
}

func TestE2ELegacyCompletions(t *testing.T) {
	e, _, upstream := startFormats(t)
	c := e.client("k")
	complete := func(prompt string) (string, string) {
		t.Helper()
		var resp *http.Response
		out, err := c.Completions.New(context.Background(), openai.CompletionNewParams{
			Model: "gpt-3.5-turbo-instruct", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
		}, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatalf("Completions.New: %v", err)
		}
		return out.Choices[0].Text, resp.Header.Get("X-Cache-Status")
	}
	first, status := complete("Say this is a test")
	if status != "Miss" || first != "Answer 1 to: Say this is a test" {
		t.Fatalf("first: %q %q", status, first)
	}
	e.waitStored(t, 1)
	if again, status := complete("Say this is a test"); status != "Hit" || again != first {
		t.Errorf("repeat: %q %q", status, again)
	}
	if upstream.calls.Load() != 1 {
		t.Errorf("upstream calls %d, want 1", upstream.calls.Load())
	}
	e.checkExchanges(t)
}
