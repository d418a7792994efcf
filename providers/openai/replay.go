package openai

import (
	"fmt"

	"github.com/semproc/semproc/semantic"
)

// replay answers req from a record of dialect d: the stored body for a
// JSON request, a stream rendered from it for a streaming one.
func replay(d dialect, record []byte, req *semantic.Request) (semantic.Reply, error) {
	reply, err := render(d, record, req)
	if err != nil {
		return semantic.Reply{}, fmt.Errorf("openai: replay %s: %w", d.object(), err)
	}
	return reply, nil
}

func render(d dialect, record []byte, req *semantic.Request) (semantic.Reply, error) {
	body, err := readRecord(record)
	if err != nil {
		return semantic.Reply{}, err
	}
	if req == nil || !req.Stream {
		return semantic.Reply{ContentType: "application/json", Body: body}, nil
	}
	c, err := parseBody(d, body)
	if err != nil {
		return semantic.Reply{}, err
	}
	stream, err := renderSSE(d, c, req.IncludeUsage)
	if err != nil {
		return semantic.Reply{}, err
	}
	return semantic.Reply{ContentType: "text/event-stream", Body: stream}, nil
}
