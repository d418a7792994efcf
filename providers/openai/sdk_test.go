package openai

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semproc/semproc/semantic"
)

// replayServer answers every request the way a cache hit would: it parses
// the SDK's request body and serves the Replay of record.
func replayServer(t *testing.T, f semantic.Format, path string, record []byte) sdk.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, path) {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		req, err := f.ParseRequest(body, 1)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply, err := f.Replay(record, req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", reply.ContentType)
		_, _ = w.Write(reply.Body)
	}))
	t.Cleanup(srv.Close)
	return sdk.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("test"), option.WithMaxRetries(0))
}

func chatParams(includeUsage bool) sdk.ChatCompletionNewParams {
	p := sdk.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.SystemMessage("Be brief."), sdk.UserMessage("What is the capital of France?")},
	}
	if includeUsage {
		p.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
	}
	return p
}

func TestSDKReadsChatStream(t *testing.T) {
	tests := []struct {
		file         string
		includeUsage bool
		wantContent  []string
		wantRefusal  string
		wantTokens   int64
	}{
		{"chat.sse", true, []string{parisText}, "", 17},
		{"chat.sse", false, []string{parisText}, "", 0},
		{"chat.json", true, []string{parisText}, "", 17},
		{"chat_n2.sse", true, []string{"One a", "Two b"}, "", 0},
		{"chat_refusal.sse", false, []string{""}, "I'm sorry, I can't help with that.", 0},
		{"chat_azure.json", true, []string{"Hello from Azure."}, "", 5},
		{"chat_reasoning.sse", true, []string{"2 + 2 = 4"}, "", 20},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/include_usage=%v", tt.file, tt.includeUsage), func(t *testing.T) {
			client := replayServer(t, Chat{}, "/v1/chat/completions", stored(t, Chat{}, tt.file))
			stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams(tt.includeUsage))
			var acc sdk.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				if !acc.AddChunk(stream.Current()) {
					t.Fatalf("accumulator refused chunk %d: %s", chunks, stream.Current().RawJSON())
				}
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if len(acc.Choices) != len(tt.wantContent) {
				t.Fatalf("%d choices, want %d", len(acc.Choices), len(tt.wantContent))
			}
			for i, want := range tt.wantContent {
				c := acc.Choices[i]
				if c.Message.Content != want || c.FinishReason != "stop" || c.Message.Role != "assistant" {
					t.Errorf("choice %d: content %q finish %q role %q", i, c.Message.Content, c.FinishReason, c.Message.Role)
				}
			}
			if acc.Choices[0].Message.Refusal != tt.wantRefusal {
				t.Errorf("refusal %q, want %q", acc.Choices[0].Message.Refusal, tt.wantRefusal)
			}
			if acc.Usage.CompletionTokens != tt.wantTokens {
				t.Errorf("completion tokens %d, want %d", acc.Usage.CompletionTokens, tt.wantTokens)
			}
			if acc.ID == "" || acc.Model == "" {
				t.Errorf("id %q model %q", acc.ID, acc.Model)
			}
		})
	}
}

func TestSDKReadsChatJSON(t *testing.T) {
	for _, file := range []string{"chat.json", "chat.sse"} {
		t.Run(file, func(t *testing.T) {
			client := replayServer(t, Chat{}, "/v1/chat/completions", stored(t, Chat{}, file))
			got, err := client.Chat.Completions.New(context.Background(), chatParams(false))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Choices) != 1 || got.Choices[0].Message.Content != parisText || got.Choices[0].FinishReason != "stop" || got.Usage.CompletionTokens != 17 {
				t.Errorf("got %s", got.RawJSON())
			}
		})
	}
}

func TestSDKReadsCompletions(t *testing.T) {
	const want = "\n\nThis is indeed a test"
	params := sdk.CompletionNewParams{
		Model:         "gpt-3.5-turbo-instruct",
		Prompt:        sdk.CompletionNewParamsPromptUnion{OfString: sdk.String("Say this is a test")},
		StreamOptions: sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)},
	}
	for _, file := range []string{"completions.json", "completions.sse"} {
		t.Run(file, func(t *testing.T) {
			client := replayServer(t, Completions{}, "/v1/completions", stored(t, Completions{}, file))
			stream := client.Completions.NewStreaming(context.Background(), params)
			var text strings.Builder
			var finish string
			var tokens int64
			for stream.Next() {
				c := stream.Current()
				for _, ch := range c.Choices {
					text.WriteString(ch.Text)
					if ch.FinishReason != "" {
						finish = string(ch.FinishReason)
					}
				}
				tokens += c.Usage.CompletionTokens
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if text.String() != want || finish != "stop" || tokens != 7 {
				t.Errorf("stream: text %q finish %q tokens %d", text.String(), finish, tokens)
			}
			got, err := client.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Choices) != 1 || got.Choices[0].Text != want || got.Choices[0].FinishReason != "stop" || got.Usage.CompletionTokens != 7 {
				t.Errorf("json: %s", got.RawJSON())
			}
		})
	}
}
