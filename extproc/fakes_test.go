package extproc

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"

	"github.com/semproc/semproc/semantic"
)

// testFormat is a tiny wire format: {"model": "...", "prompt": "...",
// "panic": bool}. A response qualifies when it is {"ok": true, ...}.
type testFormat struct{}

var _ semantic.Format = testFormat{}

type testBody struct {
	Model  string `json:"model"`
	Prompt string `json:"prompt"`
	Panic  bool   `json:"panic"`
	Stream bool   `json:"stream"`
}

func (testFormat) API() string { return "test" }

func (testFormat) ParseRequest(body []byte, _ int) (*semantic.Request, error) {
	var b testBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	if b.Panic {
		panic("format bug")
	}
	return &semantic.Request{API: "test", Model: b.Model, Window: b.Prompt, RouteText: b.Prompt, Fingerprint: "fp", Stream: b.Stream}, nil
}

func (testFormat) SetModel(body []byte, model string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	m["model"], _ = json.Marshal(model)
	return json.Marshal(m)
}

func (testFormat) NewCapture(sse bool, limit int) semantic.Capture { return &testCapture{limit: limit} }

func (testFormat) Replay(record []byte, req *semantic.Request) (semantic.Reply, error) {
	if !json.Valid(record) {
		return semantic.Reply{}, errors.New("bad record")
	}
	return semantic.Reply{ContentType: "application/json", Body: record}, nil
}

type testCapture struct {
	buf   []byte
	limit int
}

func (c *testCapture) Write(p []byte) { c.buf = append(c.buf, p...) }

func (c *testCapture) Finish() (semantic.Completion, error) {
	var v struct{ OK bool }
	if len(c.buf) > c.limit || json.Unmarshal(c.buf, &v) != nil || !v.OK {
		return semantic.Completion{}, errors.New("not a clean completion")
	}
	return semantic.Completion{Record: c.buf, Usage: semantic.Usage{InputTokens: 3, OutputTokens: 7}, Model: "m-2025"}, nil
}

// wordEmbedder puts each word in a bucket: texts sharing words are close.
type wordEmbedder struct{ err error }

func (w wordEmbedder) Embed(_ context.Context, text string) ([]float32, error) {
	if w.err != nil {
		return nil, w.err
	}
	v := make([]float32, 32)
	for _, word := range strings.Fields(strings.ToLower(text)) {
		h := fnv.New32a()
		h.Write([]byte(word))
		v[h.Sum32()%32]++
	}
	v[31] += 0.01 // no zero vector for empty text
	return v, nil
}

// fakeRouter routes every prompt mentioning "math" to the math model; in
// always mode, a request with no text goes to the general target.
type fakeRouter struct{ always bool }

func (r fakeRouter) Always() bool { return r.always }

func (fakeRouter) Route(_ context.Context, api, model, text string) semantic.Decision {
	if model != "" && model != "auto" {
		return semantic.Decision{Model: model}
	}
	if strings.Contains(text, "math") {
		return semantic.Decision{Target: "math", Model: "big-model"}
	}
	return semantic.Decision{Target: "general", Model: "small-model"}
}

// fakeStream is the server side of one ext_proc stream, fed from a script.
type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	in   []*extprocv3.ProcessingRequest
	out  []*extprocv3.ProcessingResponse
	sent []int // replies sent after each message
	// end is what Recv returns once in is empty: io.EOF (Envoy closed the
	// stream) when nil, or the error of a client that went away.
	end error
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func (f *fakeStream) Recv() (*extprocv3.ProcessingRequest, error) {
	if len(f.in) == 0 {
		if f.end != nil {
			return nil, f.end
		}
		return nil, io.EOF
	}
	m := f.in[0]
	f.in = f.in[1:]
	f.sent = append(f.sent, len(f.out))
	return m, nil
}

func (f *fakeStream) Send(r *extprocv3.ProcessingResponse) error {
	f.out = append(f.out, r)
	return nil
}
