package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// dialect is what differs between chat and legacy completions: the object
// names, and whether a choice's text sits in a message (and, streamed, a
// delta) or directly in the choice.
type dialect bool

const (
	chatDialect   dialect = true
	legacyDialect dialect = false
)

func (d dialect) object() string {
	if d == chatDialect {
		return "chat.completion"
	}
	return "text_completion"
}

func (d dialect) chunkObject() string {
	if d == chatDialect {
		return "chat.completion.chunk"
	}
	return "text_completion"
}

// Reasons a response is not stored. Finish wraps them with details.
var (
	errTooLarge     = errors.New("response over the capture limit")
	errInvalid      = errors.New("response is not a completion")
	errUpstream     = errors.New("response carries an error")
	errNoChoices    = errors.New("response has no choices")
	errFinishReason = errors.New("choice did not finish with stop")
	errToolCalls    = errors.New("response calls tools")
	errUnsupported  = errors.New("response has content semproc cannot replay")
	errTruncated    = errors.New("stream did not end cleanly")
)

// completion is a finished answer, the form both renderings (JSON and SSE)
// start from.
type completion struct {
	ID                string
	Created           json.Number
	Model             string
	SystemFingerprint *string
	Choices           []choice
	// Usage is nil when the upstream did not report it (a stream without
	// include_usage).
	Usage json.RawMessage
}

type choice struct {
	Index int
	// Role is the chat message's role; legacy choices have none.
	Role string
	// Fields are the choice's text fields in order: content, refusal and
	// any other string a compatible server adds (reasoning_content); for
	// legacy completions the one field "text".
	Fields       []field
	Logprobs     json.RawMessage
	FinishReason string
}

type field struct {
	Name string
	Text string
}

// wireChoice is a choice of a completion body or of a stream chunk.
type wireChoice struct {
	Index        int                        `json:"index"`
	Message      map[string]json.RawMessage `json:"message"`
	Delta        map[string]json.RawMessage `json:"delta"`
	Text         *string                    `json:"text"`
	Logprobs     json.RawMessage            `json:"logprobs"`
	FinishReason *string                    `json:"finish_reason"`
}

// wireBody is a completion body or a stream chunk.
type wireBody struct {
	ID                string          `json:"id"`
	Created           json.Number     `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint *string         `json:"system_fingerprint"`
	Choices           []wireChoice    `json:"choices"`
	Usage             json.RawMessage `json:"usage"`
	Error             json.RawMessage `json:"error"`
}

// parseBody reads a complete completion body and applies the store rules.
func parseBody(d dialect, body []byte) (completion, error) {
	var w wireBody
	if err := json.Unmarshal(body, &w); err != nil {
		return completion{}, fmt.Errorf("%w: %w", errInvalid, err)
	}
	if !isNull(w.Error) {
		return completion{}, errUpstream
	}
	c := completion{ID: w.ID, Created: w.Created, Model: w.Model, SystemFingerprint: w.SystemFingerprint}
	if !isNull(w.Usage) {
		c.Usage = w.Usage
	}
	for _, wc := range w.Choices {
		ch := choice{Index: wc.Index, Logprobs: nullToNil(wc.Logprobs)}
		if wc.FinishReason != nil {
			ch.FinishReason = *wc.FinishReason
		}
		if d == chatDialect {
			if wc.Message == nil {
				return completion{}, fmt.Errorf("%w: choice %d has no message", errInvalid, wc.Index)
			}
			role, fields, err := readMessage(wc.Message)
			if err != nil {
				return completion{}, err
			}
			ch.Role, ch.Fields = role, fields
		} else {
			if wc.Text == nil {
				return completion{}, fmt.Errorf("%w: choice %d has no text", errInvalid, wc.Index)
			}
			ch.Fields = []field{{Name: "text", Text: *wc.Text}}
		}
		c.Choices = append(c.Choices, ch)
	}
	return c, c.storable()
}

// readMessage reads a chat message or delta: its role and its string
// fields. Tool calls are never stored; other structured fields (audio,
// annotations) would be lost in a replay, so such a response is not stored
// either.
func readMessage(m map[string]json.RawMessage) (role string, fields []field, err error) {
	for _, k := range sortedKeys(m) {
		v := m[k]
		if isNull(v) {
			continue
		}
		switch k {
		case "role":
			if err := json.Unmarshal(v, &role); err != nil {
				return "", nil, fmt.Errorf("%w: role: %w", errInvalid, err)
			}
			continue
		case "tool_calls", "function_call":
			if !isEmptyArray(v) {
				return "", nil, errToolCalls
			}
			continue
		}
		if isEmptyArray(v) {
			continue
		}
		var s string
		if v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return "", nil, fmt.Errorf("%w: message field %q", errUnsupported, k)
		}
		fields = append(fields, field{Name: k, Text: s})
	}
	return role, fields, nil
}

// sortedKeys orders a message's fields content, refusal, then the rest by
// name, so a rendering does not depend on map order.
func sortedKeys(m map[string]json.RawMessage) []string {
	rank := func(k string) int {
		switch k {
		case "role":
			return 0
		case "content":
			return 1
		case "refusal":
			return 2
		}
		return 3
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if r := rank(a) - rank(b); r != 0 {
			return r
		}
		return strings.Compare(a, b)
	})
	return keys
}

// storable applies the store rules of SPEC §3 to a complete answer.
func (c completion) storable() error {
	if len(c.Choices) == 0 {
		return errNoChoices
	}
	seen := make(map[int]bool, len(c.Choices))
	for _, ch := range c.Choices {
		if seen[ch.Index] {
			return fmt.Errorf("%w: choice index %d twice", errInvalid, ch.Index)
		}
		seen[ch.Index] = true
		if ch.FinishReason != "stop" {
			return fmt.Errorf("%w: choice %d finished with %q", errFinishReason, ch.Index, ch.FinishReason)
		}
	}
	return nil
}

// tokenUsage is what a completion's usage object counts.
type tokenUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// usage reads the token counts; zero when unknown.
func (c completion) usage() tokenUsage {
	var u tokenUsage
	if c.Usage == nil || json.Unmarshal(c.Usage, &u) != nil {
		return tokenUsage{}
	}
	return u
}

func isNull(v json.RawMessage) bool {
	return len(v) == 0 || string(v) == "null"
}

func nullToNil(v json.RawMessage) json.RawMessage {
	if isNull(v) {
		return nil
	}
	return v
}

func isEmptyArray(v json.RawMessage) bool {
	return len(v) >= 2 && v[0] == '[' && v[len(v)-1] == ']' && len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}
