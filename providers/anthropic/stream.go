package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/semproc/semproc/providers/sse"
	"github.com/semproc/semproc/semantic"
)

// sseCapture assembles a streamed response event by event, so it holds the
// message being built rather than the raw stream.
type sseCapture struct {
	limit  int
	n      int
	reader sse.Reader
	msg    *message // set by message_start
	blocks []*streamBlock
	// stopped is set by message_stop, the only clean end of a stream.
	stopped bool
	// err is the first reason the stream cannot be stored; once set the
	// rest of the stream is ignored.
	err error
}

type streamBlock struct {
	typ  string
	text strings.Builder
	open bool
	// cited is set by citations_delta: such text is not stored.
	cited bool
}

// streamEvent is the union of the documented stream events' fields.
type streamEvent struct {
	Type         string                     `json:"type"`
	Message      *message                   `json:"message"`
	Index        int                        `json:"index"`
	ContentBlock *block                     `json:"content_block"`
	Delta        streamDelta                `json:"delta"`
	Usage        map[string]json.RawMessage `json:"usage"`
}

// streamDelta is a content_block_delta's or a message_delta's delta.
type streamDelta struct {
	Type         string  `json:"type"`
	Text         string  `json:"text"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

func (c *sseCapture) Write(p []byte) {
	if c.err != nil {
		return
	}
	c.n += len(p)
	if c.n > c.limit {
		c.err = fmt.Errorf("%w of %d bytes", errOverLimit, c.limit)
		c.reader, c.msg, c.blocks = sse.Reader{}, nil, nil
		return
	}
	for _, ev := range c.reader.Write(p) {
		if err := c.event(ev); err != nil {
			c.err = err
			return
		}
	}
}

func (c *sseCapture) event(ev sse.Event) error {
	if ev.Name == "error" {
		return errors.New("stream carried an error event")
	}
	if strings.TrimSpace(ev.Data) == "" {
		return nil
	}
	var e streamEvent
	if err := json.Unmarshal([]byte(ev.Data), &e); err != nil {
		return fmt.Errorf("malformed %q event: %w", ev.Name, err)
	}
	if c.stopped && e.Type != "ping" {
		return fmt.Errorf("%q event after message_stop", e.Type)
	}
	if c.msg == nil && e.Type != "message_start" && e.Type != "ping" && e.Type != "error" {
		return fmt.Errorf("%q event before message_start", e.Type)
	}
	switch e.Type {
	case "error":
		return errors.New("stream carried an error event")
	case "message_start":
		return c.start(e)
	case "content_block_start":
		if e.ContentBlock == nil || e.Index != len(c.blocks) {
			return fmt.Errorf("content_block_start for block %d, want block %d", e.Index, len(c.blocks))
		}
		b := &streamBlock{typ: e.ContentBlock.Type, open: true}
		b.text.WriteString(e.ContentBlock.Text)
		c.blocks = append(c.blocks, b)
	case "content_block_delta":
		b, err := c.openBlock(e)
		if err != nil {
			return err
		}
		return b.delta(e.Delta)
	case "content_block_stop":
		b, err := c.openBlock(e)
		if err != nil {
			return err
		}
		b.open = false
	case "message_delta":
		c.msg.StopReason, c.msg.StopSequence = e.Delta.StopReason, e.Delta.StopSequence
		// Usage counts in message_delta are cumulative totals: they replace.
		for k, v := range e.Usage {
			c.msg.Usage[k] = v
		}
	case "message_stop":
		c.stopped = true
	}
	// ping, and event types added after this was written, carry nothing
	// the stored answer needs (the API documents that new ones may come).
	return nil
}

func (c *sseCapture) start(e streamEvent) error {
	if c.msg != nil {
		return errors.New("second message_start")
	}
	if e.Message == nil || e.Message.Type != "message" {
		return errors.New("message_start without a message")
	}
	c.msg = e.Message
	if c.msg.Usage == nil {
		c.msg.Usage = map[string]json.RawMessage{}
	}
	// The API starts with empty content; blocks it did carry come first.
	for _, b := range c.msg.Content {
		sb := &streamBlock{typ: b.Type, cited: hasCitations(b.Citations)}
		sb.text.WriteString(b.Text)
		c.blocks = append(c.blocks, sb)
	}
	c.msg.Content = nil
	return nil
}

func (c *sseCapture) openBlock(e streamEvent) (*streamBlock, error) {
	if e.Index < 0 || e.Index >= len(c.blocks) || !c.blocks[e.Index].open {
		return nil, fmt.Errorf("%s for block %d, which is not open", e.Type, e.Index)
	}
	return c.blocks[e.Index], nil
}

// delta applies one content_block_delta. Deltas of tool input and thinking
// are accepted as well formed; their blocks are refused at Finish.
func (b *streamBlock) delta(d streamDelta) error {
	switch d.Type {
	case "text_delta":
		if b.typ != "text" {
			return fmt.Errorf("text_delta in a %q block", b.typ)
		}
		b.text.WriteString(d.Text)
	case "citations_delta":
		b.cited = true
	case "input_json_delta", "thinking_delta", "signature_delta":
		if b.typ == "text" {
			return fmt.Errorf("%s in a text block", d.Type)
		}
	default:
		return fmt.Errorf("unknown delta type %q", d.Type)
	}
	return nil
}

func (c *sseCapture) Finish() (semantic.Completion, error) {
	m, err := c.finish()
	if err != nil {
		return semantic.Completion{}, fmt.Errorf("anthropic stream: not stored: %w", err)
	}
	tokens, err := storable(m)
	if err != nil {
		return semantic.Completion{}, fmt.Errorf("anthropic stream: not stored: %w", err)
	}
	body, err := marshal(m)
	if err != nil {
		return semantic.Completion{}, fmt.Errorf("anthropic stream: encode message: %w", err)
	}
	return completion(m, encodeRecord(sourceSSE, body), tokens), nil
}

// finish checks the stream ended cleanly and builds its message.
func (c *sseCapture) finish() (*message, error) {
	switch {
	case c.err != nil:
		return nil, c.err
	case c.reader.Pending():
		return nil, errors.New("stream cut inside an event")
	case c.msg == nil:
		return nil, errors.New("stream has no message_start")
	case !c.stopped:
		return nil, errors.New("stream ended before message_stop")
	}
	m := *c.msg
	m.Content = make([]block, len(c.blocks))
	for i, b := range c.blocks {
		if b.open {
			return nil, fmt.Errorf("content block %d never stopped", i)
		}
		if b.cited {
			return nil, fmt.Errorf("content block %d carries citations", i)
		}
		m.Content[i] = block{Type: b.typ, Text: b.text.String()}
	}
	return &m, nil
}
