package openai

import (
	"github.com/semproc/semproc/extproc"
	"github.com/semproc/semproc/semantic"
)

// replay answers req from a record: the stored body for a JSON request, a
// stream rendered from it for a streaming one.
func replay(d dialect, record []byte, req *semantic.Request) (extproc.Reply, error) {
	body, err := readRecord(record)
	if err != nil {
		return extproc.Reply{}, err
	}
	if req == nil || !req.Stream {
		return extproc.Reply{ContentType: "application/json", Body: body}, nil
	}
	c, err := parseBody(d, body)
	if err != nil {
		return extproc.Reply{}, err
	}
	stream, err := renderSSE(d, c, req.IncludeUsage)
	if err != nil {
		return extproc.Reply{}, err
	}
	return extproc.Reply{ContentType: "text/event-stream", Body: stream}, nil
}
