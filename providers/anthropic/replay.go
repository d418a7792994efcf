package anthropic

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/semproc/semproc/providers/sse"
	"github.com/semproc/semproc/semantic"
)

// Replay implements semantic.Format.
func (Messages) Replay(rec []byte, req *semantic.Request) (semantic.Reply, error) {
	r, err := decodeRecord(rec)
	if err != nil {
		return semantic.Reply{}, err
	}
	if req == nil || !req.Stream {
		// A JSON source is the upstream's body byte for byte; an SSE source
		// is the message this package assembled.
		return semantic.Reply{ContentType: "application/json", Body: r.Body}, nil
	}
	m, err := decodeMessage(r.Body)
	if err != nil {
		return semantic.Reply{}, fmt.Errorf("anthropic record: %w", err)
	}
	body, err := renderStream(m)
	if err != nil {
		return semantic.Reply{}, fmt.Errorf("anthropic replay: %w", err)
	}
	return semantic.Reply{ContentType: "text/event-stream", Body: body}, nil
}

// Wire shapes of the replayed events.
type (
	messageStart struct {
		Type    string   `json:"type"`
		Message *message `json:"message"`
	}
	blockEvent struct {
		Type         string     `json:"type"`
		Index        int        `json:"index"`
		ContentBlock *block     `json:"content_block,omitempty"`
		Delta        *textDelta `json:"delta,omitempty"`
	}
	textDelta struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	messageDelta struct {
		Type  string                     `json:"type"`
		Delta stopDelta                  `json:"delta"`
		Usage map[string]json.RawMessage `json:"usage"`
	}
	stopDelta struct {
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	messageStop struct {
		Type string `json:"type"`
	}
)

// renderStream writes m as the documented event sequence: message_start
// with empty content, each text block as start, delta and stop,
// message_delta with the stop reason and output tokens, message_stop.
func renderStream(m *message) ([]byte, error) {
	start := *m
	start.Content = []block{}
	start.StopReason, start.StopSequence = nil, nil
	// Input counts are known at the start; output is reported at the end.
	start.Usage = maps.Clone(m.Usage)
	if start.Usage == nil {
		start.Usage = map[string]json.RawMessage{}
	}
	start.Usage["output_tokens"] = json.RawMessage("0")
	outTokens, ok := m.Usage["output_tokens"]
	if !ok {
		outTokens = json.RawMessage("0")
	}

	w := &streamWriter{}
	w.event("message_start", messageStart{Type: "message_start", Message: &start})
	for i, b := range m.Content {
		w.event("content_block_start", blockEvent{Type: "content_block_start", Index: i, ContentBlock: &block{Type: "text"}})
		w.event("content_block_delta", blockEvent{Type: "content_block_delta", Index: i, Delta: &textDelta{Type: "text_delta", Text: b.Text}})
		w.event("content_block_stop", blockEvent{Type: "content_block_stop", Index: i})
	}
	w.event("message_delta", messageDelta{
		Type:  "message_delta",
		Delta: stopDelta{StopReason: m.StopReason, StopSequence: m.StopSequence},
		Usage: map[string]json.RawMessage{"output_tokens": outTokens},
	})
	w.event("message_stop", messageStop{Type: "message_stop"})
	return w.out, w.err
}

// streamWriter appends events and keeps the first encoding error.
type streamWriter struct {
	out []byte
	err error
}

func (w *streamWriter) event(name string, data any) {
	if w.err != nil {
		return
	}
	b, err := marshal(data)
	if err != nil {
		w.err = fmt.Errorf("encode %s: %w", name, err)
		return
	}
	w.out = sse.Append(w.out, sse.Event{Name: name, Data: string(b)})
}
