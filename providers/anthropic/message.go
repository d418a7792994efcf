package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/semproc/semproc/semantic"
)

// message is what semproc keeps of a Messages API response: enough to
// answer a JSON request and to re-render the documented event stream.
type message struct {
	ID           string                     `json:"id"`
	Type         string                     `json:"type"`
	Role         string                     `json:"role"`
	Model        string                     `json:"model"`
	Content      []block                    `json:"content"`
	StopReason   *string                    `json:"stop_reason"`
	StopSequence *string                    `json:"stop_sequence"`
	Usage        map[string]json.RawMessage `json:"usage"`
}

// block is one content block. Only text blocks are ever stored.
type block struct {
	Type string `json:"type"`
	Text string `json:"text"`
	// Citations is read so that text citing documents is refused: a
	// replayed stream could not carry them.
	Citations json.RawMessage `json:"citations,omitempty"`
}

// decodeMessage reads a complete message object.
func decodeMessage(body []byte) (*message, error) {
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("response is not a Messages JSON object: %w", err)
	}
	switch m.Type {
	case "message":
		return &m, nil
	case "error":
		return nil, errors.New("response is an error object")
	default:
		return nil, fmt.Errorf("response type %q is not a message", m.Type)
	}
}

// storable applies the store rules of SPEC §3 to a complete message and
// returns its output token count.
func storable(m *message) (int, error) {
	if m.StopReason == nil {
		return 0, errors.New("message has no stop reason")
	}
	// max_tokens is a cut answer, tool_use and pause_turn wait for the
	// client, refusal is not an answer worth repeating.
	if r := *m.StopReason; r != "end_turn" && r != "stop_sequence" {
		return 0, fmt.Errorf("stop reason %q is not a clean stop", r)
	}
	for i, b := range m.Content {
		if b.Type != "text" {
			return 0, fmt.Errorf("content block %d is of type %q, not text", i, b.Type)
		}
		if hasCitations(b.Citations) {
			return 0, fmt.Errorf("content block %d carries citations", i)
		}
	}
	return outputTokens(m.Usage), nil
}

// hasCitations reports whether a text block's citations field lists any.
func hasCitations(raw json.RawMessage) bool {
	c := bytes.TrimSpace(raw)
	return len(c) > 0 && !bytes.Equal(c, []byte("null")) && !bytes.Equal(c, []byte("[]"))
}

// outputTokens reads usage.output_tokens; a missing or odd value counts as
// zero since it only feeds metrics.
func outputTokens(usage map[string]json.RawMessage) int { return usageCount(usage, "output_tokens") }

func usageCount(usage map[string]json.RawMessage, name string) int {
	n, err := strconv.Atoi(string(usage[name]))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// completion is what a stored message tells the metrics and traces.
func completion(m *message, record []byte, tokens int) semantic.Completion {
	return semantic.Completion{Record: record, Usage: semantic.Usage{InputTokens: usageCount(m.Usage, "input_tokens"), OutputTokens: tokens}, Model: m.Model}
}

// marshal encodes v without HTML escaping, so replayed text reads as the
// upstream wrote it.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
