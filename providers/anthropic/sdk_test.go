package anthropic

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// TestOfficialSDKReadsReplays serves replays to the official Go SDK, so
// the rendered JSON and event stream are checked against a real client
// rather than against this package's own reader.
func TestOfficialSDKReadsReplays(t *testing.T) {
	for _, source := range []struct {
		name string
		sse  bool
		file string
		text string
		in   int64
		out  int64
	}{
		{"stored from json", false, "message.json", "Paris is the capital of France.\nIt sits on the Seine & has <2.1M> people.", 21, 19},
		{"stored from sse", true, "stream.sse", "Paris is the capital of France.\nIt sits on the Seine ü.", 25, 15},
	} {
		t.Run(source.name, func(t *testing.T) {
			stored, err := capture(source.sse, testLimit, fixture(t, source.file))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				req, err := Messages{}.ParseRequest(body, 1)
				if err != nil || r.URL.Path != "/v1/messages" {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				reply, err := Messages{}.Replay(stored.Record, req)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", reply.ContentType)
				_, _ = w.Write(reply.Body)
			}))
			defer srv.Close()
			client := anthropic.NewClient(
				option.WithBaseURL(srv.URL),
				option.WithAPIKey("test-key"),
				option.WithMaxRetries(0),
				option.WithoutOpenTelemetry(),
			)
			params := anthropic.MessageNewParams{
				Model:     "claude-sonnet-4-5",
				MaxTokens: 256,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is the capital of France?"))},
			}
			check := func(t *testing.T, m anthropic.Message) {
				t.Helper()
				if len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text != source.text {
					t.Errorf("content = %+v", m.Content)
				}
				if m.StopReason != anthropic.StopReasonEndTurn || m.Usage.InputTokens != source.in || m.Usage.OutputTokens != source.out {
					t.Errorf("stop %q, usage in %d out %d; want end_turn %d %d", m.StopReason, m.Usage.InputTokens, m.Usage.OutputTokens, source.in, source.out)
				}
			}

			t.Run("json", func(t *testing.T) {
				m, err := client.Messages.New(t.Context(), params)
				if err != nil {
					t.Fatalf("Messages.New: %v", err)
				}
				check(t, *m)
			})
			t.Run("stream", func(t *testing.T) {
				stream := client.Messages.NewStreaming(t.Context(), params)
				defer stream.Close()
				var m anthropic.Message
				var deltas string
				for stream.Next() {
					ev := stream.Current()
					if err := m.Accumulate(ev); err != nil {
						t.Fatalf("Accumulate: %v", err)
					}
					if d, ok := ev.AsAny().(anthropic.ContentBlockDeltaEvent); ok {
						deltas += d.Delta.Text
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatalf("stream: %v", err)
				}
				check(t, m)
				if deltas != source.text {
					t.Errorf("text deltas = %q, want %q", deltas, source.text)
				}
			})
		})
	}
}
