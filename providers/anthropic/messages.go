// Package anthropic is the Anthropic Messages API wire format (POST
// …/v1/messages) for semproc: it reads requests, rewrites their model,
// assembles JSON and SSE responses into stored records and replays them.
package anthropic

import "github.com/semproc/semproc/semantic"

// API is the name of the format in cache partitions and routing targets.
const API = "anthropic"

// Messages is the Anthropic Messages format. It holds no state: the zero
// value is ready to use and safe for concurrent use.
type Messages struct{}

var _ semantic.Format = Messages{}

// API implements semantic.Format.
func (Messages) API() string { return API }

// NewCapture implements semantic.Format.
func (Messages) NewCapture(sse bool, limit int) semantic.Capture {
	if sse {
		return &sseCapture{limit: limit}
	}
	return &jsonCapture{limit: limit}
}
