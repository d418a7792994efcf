package anthropic

import (
	"errors"
	"fmt"

	"github.com/semproc/semproc/semantic"
)

// errOverLimit is returned by Finish when the body outgrew the capture.
var errOverLimit = errors.New("response body over the capture limit")

// jsonCapture buffers a JSON response body.
type jsonCapture struct {
	limit int
	buf   []byte
	over  bool
}

func (c *jsonCapture) Write(p []byte) {
	if c.over {
		return
	}
	if len(c.buf)+len(p) > c.limit {
		c.over, c.buf = true, nil
		return
	}
	c.buf = append(c.buf, p...)
}

func (c *jsonCapture) Finish() (semantic.Completion, error) {
	if c.over {
		return semantic.Completion{}, fmt.Errorf("anthropic: %w of %d bytes", errOverLimit, c.limit)
	}
	m, err := decodeMessage(c.buf)
	if err != nil {
		return semantic.Completion{}, fmt.Errorf("anthropic: %w", err)
	}
	tokens, err := storable(m)
	if err != nil {
		return semantic.Completion{}, fmt.Errorf("anthropic: not stored: %w", err)
	}
	return completion(m, encodeRecord(sourceJSON, c.buf), tokens), nil
}
