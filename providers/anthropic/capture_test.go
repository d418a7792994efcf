package anthropic

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/semproc/semproc/semantic"
)

const testLimit = 1 << 20

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// capture feeds chunks to a new capture and finishes it.
func capture(sse bool, limit int, chunks ...[]byte) (semantic.Completion, error) {
	c := Messages{}.NewCapture(sse, limit)
	for _, p := range chunks {
		c.Write(p)
	}
	return c.Finish()
}

// recordMessage decodes the message a record holds.
func recordMessage(t *testing.T, rec []byte) *message {
	t.Helper()
	r, err := decodeRecord(rec)
	if err != nil {
		t.Fatalf("decodeRecord(%s): %v", rec, err)
	}
	m, err := decodeMessage(r.Body)
	if err != nil {
		t.Fatalf("decodeMessage(%s): %v", r.Body, err)
	}
	return m
}

func TestCaptureJSONEverySplit(t *testing.T) {
	body := fixture(t, "message.json")
	want, err := capture(false, testLimit, body)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if want.OutputTokens != 19 || want.InputTokens != 21 || want.Model != "claude-sonnet-4-5-20250929" {
		t.Errorf("OutputTokens = %d, InputTokens = %d, Model = %q; want 19, 21, claude-sonnet-4-5-20250929", want.OutputTokens, want.InputTokens, want.Model)
	}
	m := recordMessage(t, want.Record)
	if len(m.Content) != 1 || m.Content[0].Text != "Paris is the capital of France.\nIt sits on the Seine & has <2.1M> people." {
		t.Errorf("content = %+v", m.Content)
	}
	for i := range body {
		got, err := capture(false, testLimit, body[:i], body[i:])
		if err != nil || !bytes.Equal(got.Record, want.Record) {
			t.Fatalf("split at %d: record %s, err %v; want %s", i, got.Record, err, want.Record)
		}
	}
}

func TestCaptureSSEEverySplit(t *testing.T) {
	stream := fixture(t, "stream.sse")
	crlf := bytes.ReplaceAll(stream, []byte("\n"), []byte("\r\n"))
	want, err := capture(true, testLimit, stream)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if want.OutputTokens != 15 || want.InputTokens != 25 || want.Model != "claude-sonnet-4-5-20250929" {
		t.Errorf("OutputTokens = %d, InputTokens = %d, Model = %q; want 15, 25, claude-sonnet-4-5-20250929", want.OutputTokens, want.InputTokens, want.Model)
	}
	m := recordMessage(t, want.Record)
	if m.ID != "msg_01HCDu5LRGeP2o7s2xGmxyx8" || m.Model != "claude-sonnet-4-5-20250929" || m.Role != "assistant" {
		t.Errorf("message = %+v", m)
	}
	if len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text != "Paris is the capital of France.\nIt sits on the Seine ü." {
		t.Errorf("content = %+v", m.Content)
	}
	if *m.StopReason != "end_turn" || m.StopSequence != nil {
		t.Errorf("stop = %v %v", *m.StopReason, m.StopSequence)
	}
	if string(m.Usage["input_tokens"]) != "25" || string(m.Usage["output_tokens"]) != "15" {
		t.Errorf("usage = %s", m.Usage)
	}
	for _, body := range [][]byte{stream, crlf} {
		for i := range body {
			got, err := capture(true, testLimit, body[:i], body[i:])
			if err != nil || !bytes.Equal(got.Record, want.Record) {
				t.Fatalf("split at %d: record %s, err %v; want %s", i, got.Record, err, want.Record)
			}
		}
		var bytewise [][]byte
		for i := range body {
			bytewise = append(bytewise, body[i:i+1])
		}
		if got, err := capture(true, testLimit, bytewise...); err != nil || !bytes.Equal(got.Record, want.Record) {
			t.Fatalf("byte by byte: record %s, err %v", got.Record, err)
		}
	}
}

func TestCaptureSSEStopSequence(t *testing.T) {
	stream := strings.Replace(string(fixture(t, "stream.sse")), `"stop_reason":"end_turn","stop_sequence":null`, `"stop_reason":"stop_sequence","stop_sequence":"\n\nHuman:"`, 1)
	got, err := capture(true, testLimit, []byte(stream))
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	m := recordMessage(t, got.Record)
	if *m.StopReason != "stop_sequence" || m.StopSequence == nil || *m.StopSequence != "\n\nHuman:" {
		t.Errorf("stop = %v %v", m.StopReason, m.StopSequence)
	}
}

func TestCaptureJSONRejects(t *testing.T) {
	good := string(fixture(t, "message.json"))
	tests := []struct {
		name  string
		body  string
		limit int
	}{
		{"empty", ``, testLimit},
		{"not json", `<html>502</html>`, testLimit},
		{"truncated", good[:len(good)/2], testLimit},
		{"trailing data", good + `{}`, testLimit},
		{"error object", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, testLimit},
		{"other type", strings.Replace(good, `"type":"message"`, `"type":"completion"`, 1), testLimit},
		{"max_tokens", strings.Replace(good, `"end_turn"`, `"max_tokens"`, 1), testLimit},
		{"tool_use", strings.Replace(good, `"end_turn"`, `"tool_use"`, 1), testLimit},
		{"pause_turn", strings.Replace(good, `"end_turn"`, `"pause_turn"`, 1), testLimit},
		{"refusal", strings.Replace(good, `"end_turn"`, `"refusal"`, 1), testLimit},
		{"null stop reason", strings.Replace(good, `"end_turn"`, `null`, 1), testLimit},
		{"tool_use block", strings.Replace(good, `"content":[`, `"content":[{"type":"tool_use","id":"t","name":"w","input":{}},`, 1), testLimit},
		{"thinking block", strings.Replace(good, `"content":[`, `"content":[{"type":"thinking","thinking":"hm","signature":"s"},`, 1), testLimit},
		{"citations", strings.Replace(good, `"type":"text",`, `"type":"text","citations":[{"type":"char_location","cited_text":"x"}],`, 1), testLimit},
		{"over the limit", good, len(good) - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := capture(false, tt.limit, []byte(tt.body)); err == nil {
				t.Errorf("Finish = %s, want an error", got.Record)
			} else {
				t.Log(err)
			}
		})
	}
}

func TestCaptureSSERejects(t *testing.T) {
	good := string(fixture(t, "stream.sse"))
	const stop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	tests := []struct {
		name   string
		stream string
		limit  int
	}{
		{"empty", ``, testLimit},
		{"not sse", `{"type":"message"}`, testLimit},
		{"error event", good[:len(good)/2] + "\n\nevent: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n", testLimit},
		{"error data without a name", strings.Replace(good, "event: ping\ndata: {\"type\": \"ping\"}", "data: {\"type\": \"error\", \"error\": {\"type\": \"api_error\"}}", 1), testLimit},
		{"max_tokens", strings.Replace(good, `"end_turn"`, `"max_tokens"`, 1), testLimit},
		{"refusal", strings.Replace(good, `"end_turn"`, `"refusal"`, 1), testLimit},
		{"pause_turn", strings.Replace(good, `"end_turn"`, `"pause_turn"`, 1), testLimit},
		{"no message_delta", strings.Replace(good, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n", "", 1), testLimit},
		{"tool_use", string(fixture(t, "stream_tool_use.sse")), testLimit},
		{"tool_use with end_turn", strings.Replace(string(fixture(t, "stream_tool_use.sse")), `"tool_use","stop_sequence"`, `"end_turn","stop_sequence"`, 1), testLimit},
		{"thinking", string(fixture(t, "stream_thinking.sse")), testLimit},
		{"no message_stop", strings.TrimSuffix(good, stop), testLimit},
		{"cut inside an event", strings.TrimSuffix(good, "\n\n"), testLimit},
		{"cut inside a line", good[:len(good)-5], testLimit},
		{"over the limit", good, len(good) - 1},
		{"no message_start", good[strings.Index(good, "event: content_block_start"):], testLimit},
		{"second message_start", good[:strings.Index(good, "event: content_block_start")] + good, testLimit},
		{"message_start without a message", strings.Replace(good, `"message":{"id"`, `"msg":{"id"`, 1), testLimit},
		{"malformed data", strings.Replace(good, `{"type": "ping"}`, `{"type": "ping"`, 1), testLimit},
		{"block out of order", strings.Replace(good, `"content_block_start","index":0`, `"content_block_start","index":1`, 1), testLimit},
		{"delta for no block", strings.Replace(good, `"content_block_delta","index":0`, `"content_block_delta","index":3`, 1), testLimit},
		{"delta after block stop", strings.Replace(good, "event: message_delta", "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\nevent: message_delta", 1), testLimit},
		{"block never stopped", strings.Replace(good, `{"type":"content_block_stop","index":0}`, `{"type":"ping"}`, 1), testLimit},
		{"unknown delta", strings.Replace(good, `"text_delta","text":"Paris is the capital"`, `"sparkle_delta","text":"Paris is the capital"`, 1), testLimit},
		{"input_json_delta in text", strings.Replace(good, `"text_delta","text":"Paris is the capital"`, `"input_json_delta","partial_json":"{"`, 1), testLimit},
		{"citations", strings.Replace(good, "event: content_block_stop", "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"citations_delta\",\"citation\":{\"type\":\"char_location\",\"cited_text\":\"x\"}}}\n\nevent: content_block_stop", 1), testLimit},
		{"event after message_stop", good + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n", testLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := capture(true, tt.limit, []byte(tt.stream)); err == nil {
				t.Errorf("Finish = %s, want an error", got.Record)
			} else {
				t.Log(err)
			}
		})
	}
}

func TestCaptureSSEIgnoresUnknownEvents(t *testing.T) {
	good := string(fixture(t, "stream.sse"))
	extra := strings.Replace(good, "event: ping\n", ": keep-alive comment\n\nevent: sparkle\ndata: {\"type\":\"sparkle\"}\n\nevent: ping\n", 1)
	want, err := capture(true, testLimit, []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	got, err := capture(true, testLimit, []byte(extra))
	if err != nil || !bytes.Equal(got.Record, want.Record) {
		t.Errorf("record %s, err %v; want %s", got.Record, err, want.Record)
	}
}

func TestCaptureSSEUsageIsCumulative(t *testing.T) {
	// Newer API versions repeat input counts in message_delta; the last word wins.
	stream := strings.Replace(string(fixture(t, "stream.sse")), `"usage":{"output_tokens":15}`, `"usage":{"input_tokens":30,"output_tokens":15}`, 1)
	got, err := capture(true, testLimit, []byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Body struct{ Usage map[string]any }
	}
	if err := json.Unmarshal(got.Record, &r); err != nil {
		t.Fatal(err)
	}
	if r.Body.Usage["input_tokens"] != 30.0 || r.Body.Usage["output_tokens"] != 15.0 || r.Body.Usage["service_tier"] != "standard" {
		t.Errorf("usage = %v", r.Body.Usage)
	}
}
