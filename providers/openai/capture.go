package openai

import (
	"fmt"

	"github.com/semproc/semproc/providers/sse"
	"github.com/semproc/semproc/semantic"
)

// capture assembles a response body as it passes through. Its first
// failure is kept and everything after it dropped, so a bad stream costs no
// more work or memory.
type capture struct {
	d     dialect
	sse   bool
	limit int
	size  int
	body  []byte
	r     sse.Reader
	asm   assembler
	err   error
}

var _ semantic.Capture = (*capture)(nil)

func newCapture(d dialect, sse bool, limit int) *capture {
	return &capture{d: d, sse: sse, limit: limit, asm: assembler{d: d}}
}

func (c *capture) Write(p []byte) {
	if c.err != nil {
		return
	}
	c.size += len(p)
	if c.limit > 0 && c.size > c.limit {
		c.err = fmt.Errorf("%w (%d bytes)", errTooLarge, c.limit)
		c.body = nil
		return
	}
	if !c.sse {
		c.body = append(c.body, p...)
		return
	}
	for _, ev := range c.r.Write(p) {
		if err := c.asm.event(ev); err != nil {
			c.err = err
			return
		}
	}
}

func (c *capture) Finish() (semantic.Completion, error) {
	rec, comp, err := c.finish()
	if err != nil {
		return semantic.Completion{}, fmt.Errorf("openai: response not stored: %w", err)
	}
	u := comp.usage()
	return semantic.Completion{Record: rec, Usage: semantic.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}, Model: comp.Model}, nil
}

func (c *capture) finish() (record []byte, comp completion, err error) {
	if c.err != nil {
		return nil, comp, c.err
	}
	if !c.sse {
		comp, err := parseBody(c.d, c.body)
		if err != nil {
			return nil, comp, err
		}
		return newRecord(false, c.body), comp, nil
	}
	if c.r.Pending() {
		return nil, comp, fmt.Errorf("%w: partial event", errTruncated)
	}
	comp, err = c.asm.finish()
	if err != nil {
		return nil, comp, err
	}
	body, err := renderJSON(c.d, comp)
	if err != nil {
		return nil, comp, fmt.Errorf("render: %w", err)
	}
	return newRecord(true, body), comp, nil
}
