package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/semproc/semproc/internal/syncbuf"
	"github.com/semproc/semproc/providers/local"
)

// startTry runs semproc try on the real local model and a free port, and
// returns the stand-in's URL, the admin address and what try printed.
func startTry(t *testing.T) (proxyURL, admin string, out *syncbuf.Buffer) {
	t.Helper()
	env := map[string]string{}
	if dir := os.Getenv("SEMPROC_EMBEDDINGS_MODEL_DIR"); dir != "" {
		env["SEMPROC_EMBEDDINGS_MODEL_DIR"] = dir
	}
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncbuf.Buffer{}
	type addrs struct{ proxy, admin string }
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- runTry(ctx, tryOptions{listen: "127.0.0.1:0"}, environOf(env), out,
			func(p, a string) { ready <- addrs{p, a} })
	}()
	select {
	case a := <-ready:
		proxyURL, admin = a.proxy, a.admin
	case err := <-done:
		cancel()
		if errors.Is(err, local.ErrModelMissing) {
			t.Skipf("semproc try needs the local model: %v", err)
		}
		t.Fatalf("semproc try did not start: %v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("semproc try stopped with %v", err)
		}
	})
	return proxyURL, admin, out
}

// TestTry sends the requests semproc try prints, in order, and checks what
// it promises: a Miss, an exact Hit, a paraphrase Hit and a streamed Hit,
// every Hit answering with the one upstream answer.
func TestTry(t *testing.T) {
	proxyURL, admin, out := startTry(t)
	for _, want := range []string{"not for production", proxyURL + "/v1/chat/completions", "Authorization: Bearer try-tenant"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("try's output lacks %q:\n%s", want, out.String())
		}
	}
	const answer = "Answer 1 to: What is the capital of France?"
	tests := []struct {
		status string
		exact  bool // X-Cache-Distance is 0
	}{
		{"Miss", false},
		{"Hit", true},
		{"Hit", false},
		{"Hit", true},
	}
	for i, tt := range tests {
		req := tryRequests[i]
		resp, body := postJSON(t, proxyURL+"/v1/chat/completions", req.body, "Authorization", "Bearer try-tenant")
		if got := resp.Header.Get("X-Cache-Status"); got != tt.status {
			t.Fatalf("request %d (%s): X-Cache-Status %q, want %q", i+1, req.comment, got, tt.status)
		}
		if tt.status == "Hit" {
			d, err := strconv.ParseFloat(resp.Header.Get("X-Cache-Distance"), 64)
			if err != nil || (d == 0) != tt.exact {
				t.Errorf("request %d: X-Cache-Distance %q, exact %v", i+1, resp.Header.Get("X-Cache-Distance"), tt.exact)
			}
		}
		var content string
		if strings.Contains(req.body, `"stream":true`) {
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("streamed request: Content-Type %q", ct)
			}
			content = sseContent(t, body)
		} else {
			var c struct {
				Choices []struct {
					Message struct{ Content string } `json:"message"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(body, &c); err != nil || len(c.Choices) != 1 {
				t.Fatalf("request %d: body %s: %v", i+1, body, err)
			}
			content = c.Choices[0].Message.Content
		}
		if content != answer {
			t.Errorf("request %d: answer %q, want %q", i+1, content, answer)
		}
		if i == 0 {
			waitStoredAt(t, admin, 1)
		}
	}
}

// sseContent joins the content deltas of an OpenAI SSE stream, which must
// end with data: [DONE].
func sseContent(t *testing.T, body []byte) string {
	t.Helper()
	var content strings.Builder
	done := false
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("SSE event %q: %v", data, err)
		}
		for _, ch := range c.Choices {
			content.WriteString(ch.Delta.Content)
		}
	}
	if !done {
		t.Errorf("the stream does not end with data: [DONE]:\n%s", body)
	}
	return content.String()
}

func TestTryUpstreamFlag(t *testing.T) {
	tests := []struct {
		in, host string
		bad      bool
	}{
		{"", "", false},
		{"https://api.openai.com", "api.openai.com", false},
		{"http://127.0.0.1:8080/", "127.0.0.1:8080", false},
		{"https://api.openai.com/v1", "", true},
		{"api.openai.com", "", true},
		{"ftp://x", "", true},
	}
	for _, tt := range tests {
		u, err := tryUpstream(tt.in)
		var ue *usageError
		if tt.bad != errors.As(err, &ue) {
			t.Errorf("tryUpstream(%q) error %v, want a usage error: %v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && tt.host != "" && u.Host != tt.host {
			t.Errorf("tryUpstream(%q) host %q, want %q", tt.in, u.Host, tt.host)
		}
	}
}
