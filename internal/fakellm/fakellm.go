// Package fakellm is a stand-in for an OpenAI-compatible chat completions
// API: offline, with no key, and deterministic. It numbers its answers
// ("Answer 3 to: …", echoing the last message), so whoever reads one can
// tell which upstream call it came from, and a cached answer shows the
// number of the call that produced it. The end-to-end tests and
// `semproc try` put it behind the Envoy stand-in.
package fakellm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Modes make the fake answer the way a failing upstream does.
const (
	// ModeNormal answers every chat request with a complete completion.
	ModeNormal = ""
	// ModeServerError answers 500 with an OpenAI error object.
	ModeServerError = "500"
	// ModeLength ends every answer with finish_reason "length".
	ModeLength = "length"
	// ModeTruncate ends a stream without a finish reason or [DONE].
	ModeTruncate = "truncate"
	// ModeNoStore answers completely, with Cache-Control: no-store.
	ModeNoStore = "no-store"
)

// Chat answers POSTed chat completion requests like OpenAI: JSON, or SSE
// chat.completion.chunk events when the request streams. It is an
// http.Handler; the zero value is ready.
type Chat struct {
	// Calls counts the requests it received.
	Calls atomic.Int64

	mu   sync.Mutex
	mode string
}

// SetMode switches how the following requests are answered (a Mode*
// constant).
func (f *Chat) SetMode(m string) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

func (f *Chat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.Calls.Add(1)
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Content any `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"bad request: want a chat completions body with messages","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	if mode == ModeServerError {
		http.Error(w, `{"error":{"message":"server error","type":"server_error"}}`, http.StatusInternalServerError)
		return
	}
	if mode == ModeNoStore {
		w.Header().Set("Cache-Control", "no-store")
	}
	answer := fmt.Sprintf("Answer %d to: %v", n, req.Messages[len(req.Messages)-1].Content)
	finish := "stop"
	if mode == ModeLength {
		finish = "length"
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":%q}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}`,
			req.Model, answer, finish)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	chunk := func(delta, finish string) {
		fin := "null"
		if finish != "" {
			fin = strconv.Quote(finish)
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}\n\n", req.Model, delta, fin)
		if fl != nil {
			fl.Flush()
		}
	}
	chunk(`{"role":"assistant","content":""}`, "")
	for _, wd := range strings.SplitAfter(answer, " ") {
		b, _ := json.Marshal(map[string]string{"content": wd})
		chunk(string(b), "")
	}
	if mode == ModeTruncate {
		return // the connection ends without a finish reason or [DONE]
	}
	chunk(`{}`, finish)
	fmt.Fprint(w, "data: [DONE]\n\n")
}
