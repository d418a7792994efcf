package anthropic

import (
	"errors"
	"fmt"
	"strings"

	"github.com/semproc/semproc/providers/jsonbody"
	"github.com/semproc/semproc/semantic"
)

// ignoredFields never change the answer, so they stay out of the
// fingerprint (SPEC §3). model is left out because it is a partition field
// of its own.
var ignoredFields = [...]string{"model", "stream", "metadata", "service_tier"}

// ParseRequest implements semantic.Format.
func (Messages) ParseRequest(body []byte, countback int) (*semantic.Request, error) {
	doc, err := jsonbody.DecodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("anthropic request: %w", err)
	}
	rawMsgs, ok := doc["messages"].([]any)
	if !ok {
		return nil, errors.New("anthropic request: messages missing or not an array")
	}
	msgs := make([]semantic.Message, 0, len(rawMsgs)+1)
	// The top-level system prompt leads as a system message, which the
	// window skips; it stays in the fingerprint as the "system" field.
	if sys, ok := doc["system"]; ok && sys != nil {
		text, nonText, err := contentText(sys)
		if err != nil {
			return nil, fmt.Errorf("anthropic request: system: %w", err)
		}
		msgs = append(msgs, semantic.Message{Role: "system", Text: text, NonText: nonText})
	}
	offset := len(msgs)
	for i, rm := range rawMsgs {
		m, err := parseMessage(rm)
		if err != nil {
			return nil, fmt.Errorf("anthropic request: messages[%d]: %w", i, err)
		}
		msgs = append(msgs, m)
	}
	req := &semantic.Request{API: API}
	if req.Model, err = optional[string](doc, "model"); err != nil {
		return nil, fmt.Errorf("anthropic request: %w", err)
	}
	if req.Stream, err = optional[bool](doc, "stream"); err != nil {
		return nil, fmt.Errorf("anthropic request: %w", err)
	}
	var indexes []int
	req.Window, indexes, req.Bypass = semantic.Window(msgs, countback)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			req.RouteText = msgs[i].Text
			break
		}
	}

	inWindow := make(map[int]bool, len(indexes))
	for _, i := range indexes {
		inWindow[i-offset] = true
	}
	// The window's texts are embedded, not hashed; their roles stay.
	kept := make([]any, 0, len(rawMsgs))
	for i, rm := range rawMsgs {
		if inWindow[i] {
			rm = semantic.WindowStub(rm)
		}
		kept = append(kept, rm)
	}
	doc["messages"] = kept
	for _, f := range ignoredFields {
		delete(doc, f)
	}
	if req.Fingerprint, err = semantic.Fingerprint(doc); err != nil {
		return nil, fmt.Errorf("anthropic request: fingerprint: %w", err)
	}
	return req, nil
}

// optional reads a field that may be absent or null.
func optional[T any](doc map[string]any, key string) (T, error) {
	var zero T
	v, ok := doc[key]
	if !ok || v == nil {
		return zero, nil
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%s is a %T, want a %T", key, v, zero)
	}
	return t, nil
}

func parseMessage(v any) (semantic.Message, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return semantic.Message{}, errors.New("not an object")
	}
	role, _ := obj["role"].(string)
	if role == "" {
		return semantic.Message{}, errors.New("no role")
	}
	text, nonText, err := contentText(obj["content"])
	if err != nil {
		return semantic.Message{}, fmt.Errorf("content: %w", err)
	}
	return semantic.Message{Role: role, Text: text, NonText: nonText}, nil
}

// contentText reads a string or an array of content blocks: text blocks are
// joined with a newline; any other block (image, document, tool_use,
// tool_result, …) makes the content non-text.
func contentText(v any) (text string, nonText bool, err error) {
	switch c := v.(type) {
	case string:
		return c, false, nil
	case []any:
		texts := make([]string, 0, len(c))
		for i, p := range c {
			blk, ok := p.(map[string]any)
			if !ok {
				return "", false, fmt.Errorf("block %d is not an object", i)
			}
			if blk["type"] != "text" {
				nonText = true
				continue
			}
			t, ok := blk["text"].(string)
			if !ok {
				return "", false, fmt.Errorf("text block %d has no text", i)
			}
			texts = append(texts, t)
		}
		return strings.Join(texts, "\n"), nonText, nil
	default:
		return "", false, fmt.Errorf("a %T, neither a string nor an array of blocks", v)
	}
}
