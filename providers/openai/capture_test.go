package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/semproc/semproc/semantic"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// feed gives body to a new capture in the pieces cut at the given
// offsets.
func feed(f semantic.Format, sse bool, limit int, body []byte, cuts ...int) (semantic.Completion, error) {
	c := f.NewCapture(sse, limit)
	prev := 0
	for _, cut := range append(cuts, len(body)) {
		c.Write(body[prev:cut])
		prev = cut
	}
	return c.Finish()
}

// seen is what a client reads of a completion body.
type seen struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Created           int64  `json:"created"`
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Index   int     `json:"index"`
		Text    *string `json:"text"`
		Message struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// texts lists each choice's text: content, else refusal, else legacy text.
func (s seen) texts() []string {
	var out []string
	for _, c := range s.Choices {
		switch {
		case c.Text != nil:
			out = append(out, *c.Text)
		case c.Message.Content != nil:
			out = append(out, *c.Message.Content)
		case c.Message.Refusal != nil:
			out = append(out, "refusal: "+*c.Message.Refusal)
		default:
			out = append(out, "<none>")
		}
	}
	return out
}

func decodeSeen(t *testing.T, body []byte) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return s
}

const parisText = "Paris is the capital of France. <b>Bon voyage</b> & à bientôt 🇫🇷"

func TestCaptureFixtures(t *testing.T) {
	tests := []struct {
		file       string
		f          semantic.Format
		wantTexts  []string
		wantTokens int
		wantID     string
		wantObject string
	}{
		{"chat.json", Chat{}, []string{parisText}, 17, "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "chat.completion"},
		{"chat.sse", Chat{}, []string{parisText}, 17, "chatcmpl-C2s1lB3x9qpE8dYnQ0mJx", "chat.completion"},
		{"chat_n2.sse", Chat{}, []string{"One a", "Two b"}, 0, "chatcmpl-n2", "chat.completion"},
		{"chat_azure.sse", Chat{}, []string{"Hello from Azure."}, 0, "chatcmpl-AzUrE1", "chat.completion"},
		{"chat_azure.json", Chat{}, []string{"Hello from Azure."}, 5, "chatcmpl-AzJSON1", "chat.completion"},
		{"chat_reasoning.sse", Chat{}, []string{"2 + 2 = 4"}, 20, "0f4e6b1c-reason", "chat.completion"},
		{"chat_refusal.sse", Chat{}, []string{"refusal: I'm sorry, I can't help with that."}, 0, "chatcmpl-n2", "chat.completion"},
		{"completions.json", Completions{}, []string{"\n\nThis is indeed a test"}, 7, "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7", "text_completion"},
		{"completions.sse", Completions{}, []string{"\n\nThis is indeed a test"}, 7, "cmpl-8FBpo1Fa0yY1TXh4p4y4CxcVxo9dS", "text_completion"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := fixture(t, tt.file)
			isSSE := strings.HasSuffix(tt.file, ".sse")
			got, err := feed(tt.f, isSSE, 1<<20, body)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if got.OutputTokens != tt.wantTokens {
				t.Errorf("OutputTokens = %d, want %d", got.OutputTokens, tt.wantTokens)
			}
			if strings.HasPrefix(tt.file, "completions") && (got.InputTokens != 5 || got.Model != "gpt-3.5-turbo-instruct") {
				t.Errorf("InputTokens = %d, Model = %q; want 5, gpt-3.5-turbo-instruct", got.InputTokens, got.Model)
			}
			stored, err := readRecord(got.Record)
			if err != nil {
				t.Fatalf("record %s: %v", got.Record, err)
			}
			if !isSSE && !bytes.Equal(stored, body) {
				t.Errorf("a JSON record must hold the upstream's exact bytes:\n%s", stored)
			}
			s := decodeSeen(t, stored)
			if !reflect.DeepEqual(s.texts(), tt.wantTexts) || s.ID != tt.wantID || s.Object != tt.wantObject || s.Created == 0 || s.Model == "" {
				t.Errorf("stored %s", stored)
			}
			for i, c := range s.Choices {
				if c.Index != i || c.FinishReason != "stop" {
					t.Errorf("choice %d: index %d finish %q", i, c.Index, c.FinishReason)
				}
			}
			for cut := 1; cut < len(body); cut++ {
				split, err := feed(tt.f, isSSE, 1<<20, body, cut)
				if err != nil || !bytes.Equal(split.Record, got.Record) {
					t.Fatalf("split at %d: err %v, record\n%s\nwant\n%s", cut, err, split.Record, got.Record)
				}
			}
			cuts := make([]int, len(body)-1)
			for i := range cuts {
				cuts[i] = i + 1
			}
			if bytes1, err := feed(tt.f, isSSE, 1<<20, body, cuts...); err != nil || !bytes.Equal(bytes1.Record, got.Record) {
				t.Fatalf("byte by byte: err %v, record %s", err, bytes1.Record)
			}
		})
	}
}

func TestCaptureKeepsReasoning(t *testing.T) {
	rec := stored(t, Chat{}, "chat_reasoning.sse")
	body, err := readRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	const want = `"reasoning_content":"The user asks 2+2. That is 4."`
	if !bytes.Contains(body, []byte(want)) {
		t.Errorf("stored %s, want it to contain %s", body, want)
	}
	reply, err := Chat{}.Replay(rec, &semantic.Request{Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	again, err := feed(Chat{}, true, 0, reply.Body)
	if err != nil {
		t.Fatal(err)
	}
	if replayed, _ := readRecord(again.Record); !bytes.Contains(replayed, []byte(want)) {
		t.Errorf("replay lost the reasoning: %s", reply.Body)
	}
}

func TestCaptureKeepsStreamDetails(t *testing.T) {
	got, err := feed(Chat{}, true, 0, fixture(t, "chat_n2.sse"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := readRecord(got.Record)
	if err != nil {
		t.Fatal(err)
	}
	s := decodeSeen(t, stored)
	if s.SystemFingerprint != "fp_560af6e559" || s.Created != 1754478190 || s.Usage != nil {
		t.Errorf("header not kept: %s", stored)
	}
	var lp struct {
		Content []struct {
			Token string `json:"token"`
		} `json:"content"`
	}
	if err := json.Unmarshal(s.Choices[1].Logprobs, &lp); err != nil || len(lp.Content) != 2 || lp.Content[0].Token != "Two" || lp.Content[1].Token != " b" {
		t.Errorf("choice 1 logprobs not merged in order: %s", s.Choices[1].Logprobs)
	}
}

func TestCaptureRejects(t *testing.T) {
	chatSSE := string(fixture(t, "chat.sse"))
	doneAt := strings.LastIndex(chatSSE, "data: [DONE]")
	const head = `"id":"c","object":"chat.completion.chunk","created":1,"model":"m"`
	chunk := func(choices string) string { return "data: {" + head + `,"choices":[` + choices + "]}\n\n" }
	const msg = `{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}`
	tests := []struct {
		name  string
		f     semantic.Format
		sse   bool
		limit int
		body  string
		want  error
	}{
		{"json not JSON", Chat{}, false, 0, `<html>bad gateway</html>`, errInvalid},
		{"json empty", Chat{}, false, 0, ``, errInvalid},
		{"json an array", Chat{}, false, 0, `[` + msg + `]`, errInvalid},
		{"json error object", Chat{}, false, 0, `{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}`, errUpstream},
		{"json no choices", Chat{}, false, 0, `{"id":"c","choices":[]}`, errNoChoices},
		{"json length", Chat{}, false, 0, `{"choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"length"}]}`, errFinishReason},
		{"json content filter", Chat{}, false, 0, `{"choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"content_filter"}]}`, errFinishReason},
		{"json null finish", Chat{}, false, 0, `{"choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":null}]}`, errFinishReason},
		{"json one of two choices cut", Chat{}, false, 0, `{"choices":[` + msg + `,{"index":1,"message":{"role":"assistant","content":"y"},"finish_reason":"length"}]}`, errFinishReason},
		{"json tool calls", Chat{}, false, 0, `{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`, errToolCalls},
		{"json tool calls with stop", Chat{}, false, 0, `{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t"}]},"finish_reason":"stop"}]}`, errToolCalls},
		{"json function call", Chat{}, false, 0, `{"choices":[{"index":0,"message":{"role":"assistant","function_call":{"name":"f","arguments":"{}"}},"finish_reason":"stop"}]}`, errToolCalls},
		{"json audio", Chat{}, false, 0, `{"choices":[{"index":0,"message":{"role":"assistant","content":null,"audio":{"id":"a","data":"AAA"}},"finish_reason":"stop"}]}`, errUnsupported},
		{"json no message", Chat{}, false, 0, `{"choices":[{"index":0,"finish_reason":"stop"}]}`, errInvalid},
		{"json over the limit", Chat{}, false, 20, `{"choices":[` + msg + `]}`, errTooLarge},
		{"sse without [DONE]", Chat{}, true, 0, chatSSE[:doneAt], errTruncated},
		{"sse cut mid-event", Chat{}, true, 0, chatSSE[:doneAt-40], errTruncated},
		{"sse [DONE] without its blank line", Chat{}, true, 0, chatSSE[:doneAt] + "data: [DONE]\n", errTruncated},
		{"sse error event", Chat{}, true, 0, chunk(`{"index":0,"delta":{"content":"x"}}`) + "event: error\ndata: {\"message\":\"overloaded\"}\n\n", errUpstream},
		{"sse error object", Chat{}, true, 0, chunk(`{"index":0,"delta":{"content":"x"}}`) + `data: {"error":{"message":"server_error"}}` + "\n\ndata: [DONE]\n\n", errUpstream},
		{"sse length", Chat{}, true, 0, chunk(`{"index":0,"delta":{"content":"x"}}`) + chunk(`{"index":0,"delta":{},"finish_reason":"length"}`) + "data: [DONE]\n\n", errFinishReason},
		{"sse no finish reason", Chat{}, true, 0, chunk(`{"index":0,"delta":{"content":"x"}}`) + "data: [DONE]\n\n", errFinishReason},
		{"sse tool call delta", Chat{}, true, 0, chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":""}}]}}`) + chunk(`{"index":0,"delta":{},"finish_reason":"stop"}`) + "data: [DONE]\n\n", errToolCalls},
		{"sse not JSON", Chat{}, true, 0, "data: {oops\n\ndata: [DONE]\n\n", errInvalid},
		{"sse negative index", Chat{}, true, 0, chunk(`{"index":-1,"delta":{"content":"x"},"finish_reason":"stop"}`) + "data: [DONE]\n\n", errInvalid},
		{"sse only [DONE]", Chat{}, true, 0, "data: [DONE]\n\n", errNoChoices},
		{"sse after [DONE]", Chat{}, true, 0, chunk(`{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}`) + "data: [DONE]\n\n" + chunk(`{"index":0,"delta":{"content":"y"}}`), errInvalid},
		{"sse over the limit", Chat{}, true, 100, chatSSE, errTooLarge},
		{"sse a JSON body", Chat{}, true, 0, string(fixture(t, "chat.json")), errTruncated},
		{"legacy json length", Completions{}, false, 0, `{"choices":[{"text":"x","index":0,"finish_reason":"length"}]}`, errFinishReason},
		{"legacy json no text", Completions{}, false, 0, `{"choices":[{"index":0,"finish_reason":"stop"}]}`, errInvalid},
		{"legacy sse without [DONE]", Completions{}, true, 0, `data: {"choices":[{"text":"x","index":0,"finish_reason":"stop"}]}` + "\n\n", errTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := feed(tt.f, tt.sse, tt.limit, []byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got.Record != nil {
				t.Errorf("a rejected response left a record: %s", got.Record)
			}
		})
	}
}
