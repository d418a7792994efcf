package semantic

// Format is one LLM API's wire format (OpenAI chat completions, legacy
// completions, Anthropic Messages): the contract between the domain and
// the adapters that read and write provider JSON. Implementations live in
// providers/; extproc drives them.
type Format interface {
	// API names the format; it is part of the cache partition.
	API() string
	// ParseRequest reads a request body. countback is the number of
	// non-system messages in the cache window. An error means the body is
	// not JSON or not of this format's shape: the request passes through
	// uncached (Bypass).
	ParseRequest(body []byte, countback int) (*Request, error)
	// SetModel returns body with its model field replaced, every other byte
	// of meaning kept.
	SetModel(body []byte, model string) ([]byte, error)
	// NewCapture starts assembling a 2xx response: an SSE stream when sse is
	// set, else a JSON body. A capture holds at most limit bytes.
	NewCapture(sse bool, limit int) Capture
	// Replay renders a stored completion as the answer to req: the stored
	// JSON body unchanged when it came from a JSON response and req does not
	// stream, otherwise a body re-rendered from the assembled completion.
	Replay(record []byte, req *Request) (Reply, error)
}

// Capture assembles a response body as it passes through.
type Capture interface {
	// Write takes the next bytes of the body. It never fails: a body that
	// cannot be stored makes Finish return an error.
	Write(p []byte)
	// Finish is called once the body has ended. It returns the record to
	// store, or an error saying why the response must not be stored
	// (truncated, not 2xx-shaped, an error object, a finish reason other than
	// a clean stop, tool calls, over the limit).
	Finish() (Completion, error)
}

// Completion is a record to store and what the metrics and traces want to
// know of it: the usage and the model the response reports (zero when it
// does not say).
type Completion struct {
	Record []byte
	Usage
	Model string
}

// Reply is a rendered cache hit.
type Reply struct {
	ContentType string
	Body        []byte
}
