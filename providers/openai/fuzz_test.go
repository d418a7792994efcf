package openai

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/semproc/semproc/semantic"
)

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}],"stream":true}`), 2, false)
	f.Add([]byte(`{"model":"m","prompt":["x"],"temperature":1.0}`), 1, true)
	f.Add([]byte(`{"model" : "a", "model":"b","messages":[]}`), 1, false)
	f.Fuzz(func(t *testing.T, body []byte, countback int, legacy bool) {
		var format semantic.Format = Chat{}
		if legacy {
			format = Completions{}
		}
		req, err := format.ParseRequest(body, countback)
		if err != nil {
			return
		}
		if len(req.Fingerprint) != 64 || req.API != format.API() {
			t.Fatalf("request %+v", req)
		}
		// Routing rewrites the model of any body we accept: nothing else of
		// the request may change.
		routed, err := format.SetModel(body, "routed-model")
		if err != nil {
			t.Fatalf("SetModel of an accepted body: %v", err)
		}
		again, err := format.ParseRequest(routed, countback)
		if err != nil {
			t.Fatalf("routed body %s rejected: %v", routed, err)
		}
		req.Model = "routed-model"
		if *again != *req {
			t.Fatalf("routing changed the request:\n%+v\n%+v", again, req)
		}
	})
}

func FuzzCapture(f *testing.F) {
	for _, file := range []string{"chat.sse", "chat_n2.sse", "chat_azure.sse", "completions.sse", "chat.json", "completions.json"} {
		f.Add(fixture(f, file), 7, strings.HasPrefix(file, "completions"), strings.HasSuffix(file, ".sse"))
	}
	f.Add([]byte("data: [DONE]\n\n"), 1, false, true)
	f.Fuzz(func(t *testing.T, body []byte, size int, legacy, isSSE bool) {
		var format semantic.Format = Chat{}
		if legacy {
			format = Completions{}
		}
		size = max(1, size)
		var cuts []int
		for i := size; i < len(body); i += size {
			cuts = append(cuts, i)
		}
		whole, errWhole := feed(format, isSSE, 0, body)
		split, errSplit := feed(format, isSSE, 0, body, cuts...)
		if (errWhole == nil) != (errSplit == nil) || !bytes.Equal(whole.Record, split.Record) {
			t.Fatalf("chunking changed the capture: %v / %v", errWhole, errSplit)
		}
		if errWhole != nil {
			return
		}
		if isSSE && !bytes.Contains(body, []byte("[DONE]")) {
			t.Fatalf("a stream without [DONE] was stored: %s", whole.Record)
		}
		// Whatever is stored can be replayed both ways, and a replayed
		// stream is stored again as the same completion.
		js, err := format.Replay(whole.Record, &semantic.Request{})
		if err != nil {
			t.Fatalf("JSON replay: %v", err)
		}
		if !isSSE && !bytes.Equal(js.Body, body) {
			t.Fatalf("JSON replay is not the stored body")
		}
		stream, err := format.Replay(whole.Record, &semantic.Request{Stream: true, IncludeUsage: true})
		if err != nil {
			t.Fatalf("stream replay: %v", err)
		}
		again, err := feed(format, true, 0, stream.Body)
		if err != nil {
			t.Fatalf("replayed stream not storable: %v\n%s", err, stream.Body)
		}
		first, _ := readRecord(whole.Record)
		second, _ := readRecord(again.Record)
		if isSSE && !jsonEqual(first, second) {
			t.Fatalf("replay changed the completion:\n%s\n%s", first, second)
		}
	})
}

// TestCaptureRandomBytes feeds random bytes as JSON and as SSE: none may
// ever be stored.
func TestCaptureRandomBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		body := make([]byte, rng.IntN(512))
		for j := range body {
			body[j] = byte(rng.UintN(256))
		}
		for _, format := range []semantic.Format{Chat{}, Completions{}} {
			for _, isSSE := range []bool{false, true} {
				if got, err := feed(format, isSSE, 0, body, len(body)/2); err == nil {
					t.Fatalf("case %d: random bytes stored as %s", i, got.Record)
				}
			}
		}
	}
}
