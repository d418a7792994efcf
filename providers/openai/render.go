package openai

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/semproc/semproc/providers/sse"
)

// object is a JSON object whose keys keep their order, so renderings read
// like the upstream's and are deterministic.
type object []member

type member struct {
	key   string
	value any
}

func (o object) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, m := range o {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, err := marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := marshal(m.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		buf = append(append(append(buf, k...), ':'), v...)
	}
	return append(buf, '}'), nil
}

// marshal is json.Marshal without HTML escaping: the upstreams do not
// escape <, > and &, and neither should a replay of their text.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

func (c completion) header(objectName string) object {
	o := object{{"id", c.ID}, {"object", objectName}, {"created", c.Created}, {"model", c.Model}}
	if c.SystemFingerprint != nil {
		o = append(o, member{"system_fingerprint", *c.SystemFingerprint})
	}
	return o
}

// renderJSON renders c as the non-streaming response body.
func renderJSON(d dialect, c completion) ([]byte, error) {
	choices := make([]object, len(c.Choices))
	for i, ch := range c.Choices {
		if d == legacyDialect {
			text, _ := ch.nullableText("text").(string)
			choices[i] = object{{"text", text}, {"index", ch.Index}, {"logprobs", ch.Logprobs}, {"finish_reason", ch.FinishReason}}
			continue
		}
		msg := object{{"role", ch.role()}, {"content", ch.nullableText("content")}, {"refusal", ch.nullableText("refusal")}}
		for _, f := range ch.Fields {
			if f.Name != "content" && f.Name != "refusal" {
				msg = append(msg, member{f.Name, f.Text})
			}
		}
		choices[i] = object{{"index", ch.Index}, {"message", msg}, {"logprobs", ch.Logprobs}, {"finish_reason", ch.FinishReason}}
	}
	o := append(c.header(d.object()), member{"choices", choices})
	if c.Usage != nil {
		o = append(o, member{"usage", c.Usage})
	}
	return marshal(o)
}

// renderSSE renders c as a stream the way the upstream streams: per choice
// a first chunk (chat: with the role), one chunk per text field, a chunk
// with the finish reason; then the usage chunk when asked for and known,
// and [DONE].
func renderSSE(d dialect, c completion, includeUsage bool) ([]byte, error) {
	var out []byte
	emit := func(choices []object, usage json.RawMessage) error {
		o := append(c.header(d.chunkObject()), member{"choices", choices})
		if usage != nil {
			o = append(o, member{"usage", usage})
		}
		b, err := marshal(o)
		if err != nil {
			return err
		}
		out = sse.Append(out, sse.Event{Data: string(b)})
		return nil
	}
	for _, ch := range c.Choices {
		for _, part := range streamParts(d, ch) {
			if err := emit([]object{part}, nil); err != nil {
				return nil, err
			}
		}
	}
	if includeUsage && c.Usage != nil {
		if err := emit([]object{}, c.Usage); err != nil {
			return nil, err
		}
	}
	return sse.Append(out, sse.Event{Data: "[DONE]"}), nil
}

// streamParts splits a choice into the choices of successive chunks. The
// logprobs ride on the first chunk that carries text.
func streamParts(d dialect, ch choice) []object {
	lp := ch.Logprobs
	var parts []object
	if d == legacyDialect {
		for _, f := range ch.Fields {
			parts = append(parts, object{{"text", f.Text}, {"index", ch.Index}, {"logprobs", lp}, {"finish_reason", nil}})
			lp = nil
		}
		return append(parts, object{{"text", ""}, {"index", ch.Index}, {"logprobs", lp}, {"finish_reason", ch.FinishReason}})
	}
	delta := func(fields object, logprobs json.RawMessage, finish any) object {
		return object{{"index", ch.Index}, {"delta", fields}, {"logprobs", logprobs}, {"finish_reason", finish}}
	}
	// The first chunk names the role, with an empty content when the answer
	// has content (a refusal comes with none), as OpenAI streams them.
	first := object{{"role", ch.role()}}
	if ch.nullableText("content") != nil {
		first = append(first, member{"content", ""})
	}
	parts = append(parts, delta(first, nil, nil))
	for _, f := range ch.Fields {
		if f.Name == "content" && f.Text == "" {
			continue // the first chunk has it
		}
		parts = append(parts, delta(object{{f.Name, f.Text}}, lp, nil))
		lp = nil
	}
	return append(parts, delta(object{}, lp, ch.FinishReason))
}

func (ch choice) role() string {
	if ch.Role == "" {
		return "assistant"
	}
	return ch.Role
}

// nullableText is nil for a field the answer did not have: OpenAI sends
// "content": null beside a refusal, and "refusal": null beside content.
func (ch choice) nullableText(name string) any {
	for _, f := range ch.Fields {
		if f.Name == name {
			return f.Text
		}
	}
	return nil
}
