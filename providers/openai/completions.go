package openai

import (
	"errors"

	"github.com/semproc/semproc/semantic"
)

// Completions is the format of the legacy POST …/completions, whose body
// has a prompt instead of messages. The zero value is ready to use and safe
// for concurrent use.
type Completions struct{}

// API is "openai-completions": its records are not chat completions, so
// its entries live in a partition of their own.
func (Completions) API() string { return "openai-completions" }

// ParseRequest reads a legacy completions request body. The window is the
// prompt; countback does not apply to a single prompt.
func (c Completions) ParseRequest(body []byte, _ int) (*semantic.Request, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	opts, err := readOptions(obj)
	if err != nil {
		return nil, err
	}
	req := &semantic.Request{
		API:          c.API(),
		Model:        opts.model,
		Stream:       opts.stream,
		IncludeUsage: opts.includeUsage,
	}
	switch p := obj["prompt"].(type) {
	case nil:
		return nil, errors.New("openai: prompt is missing")
	case string:
		req.Window = p
	case []any:
		// Several prompts get several answers in one body, and token arrays
		// have no text to embed.
		s, ok := "", false
		if len(p) == 1 {
			s, ok = p[0].(string)
		}
		if !ok {
			req.Bypass = "prompt is not a single text"
		}
		req.Window = s
	default:
		return nil, errors.New("openai: prompt is neither a string nor an array")
	}
	req.RouteText = req.Window
	delete(obj, "prompt")
	if req.Fingerprint, err = fingerprint(obj); err != nil {
		return nil, err
	}
	return req, nil
}

// SetModel replaces the body's model, every other byte kept.
func (Completions) SetModel(body []byte, model string) ([]byte, error) {
	return setModel(body, model)
}

// NewCapture starts assembling a text_completion (JSON) or a stream of
// them (SSE). limit <= 0 means no limit.
func (Completions) NewCapture(sse bool, limit int) semantic.Capture {
	return newCapture(legacyDialect, sse, limit)
}

// Replay renders a record made by a Completions capture.
func (Completions) Replay(record []byte, req *semantic.Request) (semantic.Reply, error) {
	return replay(legacyDialect, record, req)
}
