// Package openai implements the OpenAI wire formats for semproc: chat
// completions (OpenAI, compatible servers and Azure OpenAI, which share one
// body) and the legacy completions API, both as JSON and as SSE streams.
package openai

import (
	"github.com/semproc/semproc/semantic"
)

// Chat is the format of POST …/chat/completions. The zero value is ready to
// use and safe for concurrent use.
type Chat struct{}

// API is "openai", the name routing targets use for this format.
func (Chat) API() string { return "openai" }

// ParseRequest reads a chat completions request body.
func (c Chat) ParseRequest(body []byte, countback int) (*semantic.Request, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	opts, err := readOptions(obj)
	if err != nil {
		return nil, err
	}
	msgs, err := parseMessages(obj["messages"])
	if err != nil {
		return nil, err
	}
	window, indexes, bypass := semantic.Window(msgs, countback)
	req := &semantic.Request{
		API:          c.API(),
		Model:        opts.model,
		Window:       window,
		Bypass:       bypass,
		Stream:       opts.stream,
		IncludeUsage: opts.includeUsage,
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			req.RouteText = msgs[i].Text
			break
		}
	}
	// The window's texts are embedded, not hashed: what stays of messages
	// is the system prompt, the earlier turns and the window's roles.
	all := obj["messages"].([]any)
	rest := make([]any, 0, len(all))
	for i, m := range all {
		if len(indexes) > 0 && indexes[0] == i {
			indexes = indexes[1:]
			m = semantic.WindowStub(m)
		}
		rest = append(rest, m)
	}
	obj["messages"] = rest
	if req.Fingerprint, err = fingerprint(obj); err != nil {
		return nil, err
	}
	return req, nil
}

// SetModel replaces the body's model, every other byte kept.
func (Chat) SetModel(body []byte, model string) ([]byte, error) {
	return setModel(body, model)
}

// NewCapture starts assembling a chat completion (JSON) or a stream of
// chat.completion.chunk events (SSE). limit <= 0 means no limit.
func (Chat) NewCapture(sse bool, limit int) semantic.Capture {
	return newCapture(chatDialect, sse, limit)
}

// Replay renders a record made by a Chat capture.
func (Chat) Replay(record []byte, req *semantic.Request) (semantic.Reply, error) {
	return replay(chatDialect, record, req)
}
