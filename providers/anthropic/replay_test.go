package anthropic

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/semproc/semproc/providers/sse"
	"github.com/semproc/semproc/semantic"
)

var (
	jsonRequest   = &semantic.Request{API: API}
	streamRequest = &semantic.Request{API: API, Stream: true}
)

func TestReplayJSONSourceIsExact(t *testing.T) {
	body := fixture(t, "message.json")
	padded := append([]byte(" \n"), body...)
	for _, b := range [][]byte{body, padded} {
		c, err := capture(false, testLimit, b)
		if err != nil {
			t.Fatal(err)
		}
		reply, err := Messages{}.Replay(c.Record, jsonRequest)
		if err != nil {
			t.Fatal(err)
		}
		if reply.ContentType != "application/json" || !bytes.Equal(reply.Body, b) {
			t.Errorf("Replay = %s %q, want application/json %q", reply.ContentType, reply.Body, b)
		}
	}
}

// TestReplayRoundTrip checks both sources in both directions: what a
// replay says, captured again, is the message that was stored.
func TestReplayRoundTrip(t *testing.T) {
	stopSeq := strings.Replace(string(fixture(t, "stream.sse")), `"stop_reason":"end_turn","stop_sequence":null`, `"stop_reason":"stop_sequence","stop_sequence":"END"`, 1)
	twoBlocks := strings.Replace(string(fixture(t, "message.json")), `"content":[`, `"content":[{"type":"text","text":"First block, \"quoted\"."},`, 1)
	tests := []struct {
		name     string
		sse      bool
		body     string
		texts    []string
		stop     string
		stopSeq  string
		inTokens string
		tokens   int
	}{
		{"json", false, string(fixture(t, "message.json")), []string{"Paris is the capital of France.\nIt sits on the Seine & has <2.1M> people."}, "end_turn", "", "21", 19},
		{"json two blocks", false, twoBlocks, []string{`First block, "quoted".`, "Paris is the capital of France.\nIt sits on the Seine & has <2.1M> people."}, "end_turn", "", "21", 19},
		{"json no content", false, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":0}}`, nil, "end_turn", "", "3", 0},
		{"sse", true, string(fixture(t, "stream.sse")), []string{"Paris is the capital of France.\nIt sits on the Seine ü."}, "end_turn", "", "25", 15},
		{"sse stop sequence", true, stopSeq, []string{"Paris is the capital of France.\nIt sits on the Seine ü."}, "stop_sequence", "END", "25", 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := capture(tt.sse, testLimit, []byte(tt.body))
			if err != nil {
				t.Fatalf("capture: %v", err)
			}
			if stored.OutputTokens != tt.tokens {
				t.Errorf("OutputTokens = %d, want %d", stored.OutputTokens, tt.tokens)
			}
			asJSON, err := Messages{}.Replay(stored.Record, jsonRequest)
			if err != nil || asJSON.ContentType != "application/json" {
				t.Fatalf("JSON replay: %s, %v", asJSON.ContentType, err)
			}
			asSSE, err := Messages{}.Replay(stored.Record, streamRequest)
			if err != nil || asSSE.ContentType != "text/event-stream" {
				t.Fatalf("SSE replay: %s, %v", asSSE.ContentType, err)
			}
			fromJSON, err := capture(false, testLimit, asJSON.Body)
			if err != nil {
				t.Fatalf("capture of the JSON replay: %v", err)
			}
			fromSSE, err := capture(true, testLimit, asSSE.Body)
			if err != nil {
				t.Fatalf("capture of the SSE replay %s: %v", asSSE.Body, err)
			}
			for _, rec := range [][]byte{stored.Record, fromJSON.Record, fromSSE.Record} {
				m := recordMessage(t, rec)
				var texts []string
				for _, b := range m.Content {
					texts = append(texts, b.Text)
				}
				if strings.Join(texts, "|") != strings.Join(tt.texts, "|") || len(texts) != len(tt.texts) {
					t.Errorf("texts = %q, want %q", texts, tt.texts)
				}
				if m.StopReason == nil || *m.StopReason != tt.stop {
					t.Errorf("stop_reason = %v, want %s", m.StopReason, tt.stop)
				}
				if got := ""; m.StopSequence != nil {
					if got = *m.StopSequence; got != tt.stopSeq {
						t.Errorf("stop_sequence = %q, want %q", got, tt.stopSeq)
					}
				} else if tt.stopSeq != "" {
					t.Errorf("stop_sequence = null, want %q", tt.stopSeq)
				}
				if string(m.Usage["input_tokens"]) != tt.inTokens || outputTokens(m.Usage) != tt.tokens {
					t.Errorf("usage = %s", m.Usage)
				}
			}
			// Re-rendering an assembled stream is a fixed point.
			again, err := Messages{}.Replay(fromSSE.Record, streamRequest)
			if err != nil || !bytes.Equal(again.Body, asSSE.Body) {
				t.Errorf("second SSE replay differs:\n%s\nwant\n%s", again.Body, asSSE.Body)
			}
		})
	}
}

func TestReplayStreamEvents(t *testing.T) {
	stored, err := capture(false, testLimit, fixture(t, "message.json"))
	if err != nil {
		t.Fatal(err)
	}
	reply, err := Messages{}.Replay(stored.Record, streamRequest)
	if err != nil {
		t.Fatal(err)
	}
	var r sse.Reader
	events := r.Write(reply.Body)
	if r.Pending() {
		t.Errorf("replayed stream ends inside an event")
	}
	want := []string{"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d:\n%s", len(events), len(want), reply.Body)
	}
	for i, ev := range events {
		var data struct {
			Type    string
			Message *struct {
				Content    []json.RawMessage
				StopReason *string `json:"stop_reason"`
				Usage      map[string]any
			}
			Usage map[string]any
		}
		if err := json.Unmarshal([]byte(ev.Data), &data); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Name != want[i] || data.Type != want[i] {
			t.Errorf("event %d is %q with type %q, want %q", i, ev.Name, data.Type, want[i])
		}
		switch ev.Name {
		case "message_start":
			m := data.Message
			if m == nil || m.Content == nil || len(m.Content) != 0 || m.StopReason != nil || m.Usage["input_tokens"] != 21.0 || m.Usage["output_tokens"] != 0.0 {
				t.Errorf("message_start = %s", ev.Data)
			}
		case "message_delta":
			if data.Usage["output_tokens"] != 19.0 {
				t.Errorf("message_delta = %s", ev.Data)
			}
		}
	}
}

func TestReplayRejectsBadRecords(t *testing.T) {
	good, err := capture(false, testLimit, fixture(t, "message.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []string{
		``,
		`garbage`,
		`{"v":2,"source":"json","body":{}}`,
		`{"v":1,"source":"grpc","body":{}}`,
		`{"source":"json","v":1,"body":{}}`,
		`{"v":1,"source":"sse","body":{"type":"error"}}`,
		strings.Replace(string(good.Record), `"v":1`, `"v":0`, 1),
	} {
		if reply, err := (Messages{}).Replay([]byte(rec), streamRequest); err == nil {
			t.Errorf("Replay(%s) = %s, want an error", rec, reply.Body)
		}
	}
}
