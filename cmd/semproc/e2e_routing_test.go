package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
)

// routingEnv configures two targets. The thresholds suit the fake
// embeddings' bag-of-words vectors: a prompt sharing two or three words
// with a description is within 0.4 of it, an unrelated one near 1.
var routingEnv = map[string]string{
	"SEMPROC_ROUTES": `[
		{"name": "mathematics", "model": "math-model",
		 "descriptions": ["algebra calculus equations", "prove theorems in mathematics"]},
		{"name": "music", "model": "music-model", "catch_all": true,
		 "descriptions": ["classical music symphonies composers", "Beethoven symphonies"]}]`,
	"SEMPROC_ROUTING_DISTANCE_THRESHOLD": "0.5",
}

// startRouting starts the harness with one fake upstream per target
// model, so the route Envoy re-evaluates decides which upstream answers.
func startRouting(t *testing.T) *e2e {
	t.Helper()
	return startE2EWith(t, routingEnv, e2eOptions{modelUpstreams: []string{"math-model", "music-model"}})
}

func chatBody(model, prompt string) string {
	b, _ := json.Marshal(map[string]any{"model": model, "messages": []any{map[string]string{"role": "user", "content": prompt}}})
	return string(b)
}

// routed is one request's outcome, as the client and the stand-in saw it.
type routed struct {
	status, route, model, cache string
	// answeredBy is the model the upstream read from the body it got.
	answeredBy string
}

func postRouted(t *testing.T, e *e2e, body string, headers ...string) routed {
	t.Helper()
	resp, b := e.rawPost(t, "/v1/chat/completions", body, headers...)
	var out struct {
		Model string `json:"model"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
		t.Fatalf("status %d, body %s", resp.StatusCode, b)
	}
	return routed{status: strconv.Itoa(resp.StatusCode), route: resp.Header.Get("X-Semproc-Route"), model: resp.Header.Get("X-Semproc-Model"),
		cache: resp.Header.Get("X-Cache-Status"), answeredBy: out.Model}
}

// checkUpstreamRequest checks what the stand-in sent upstream: the model
// in the body and in the routing header, a content-length that matches the
// body, a route re-evaluated after the header changed.
func checkUpstreamRequest(t *testing.T, e *e2e, model string) {
	t.Helper()
	x := e.lastExchange(t)
	if x.Status != http.StatusOK || x.Error != "" || x.FailedOpen != "" {
		t.Errorf("exchange: status %d, error %q, failed open %q", x.Status, x.Error, x.FailedOpen)
	}
	var body struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(x.UpstreamBody, &body); err != nil || body.Model != model {
		t.Errorf("upstream body model %q (%v), want %q", body.Model, err, model)
	}
	if got := x.UpstreamHeaders.Values("X-Semproc-Model"); len(got) != 1 || got[0] != model {
		t.Errorf("upstream x-semproc-model %q, want only %q", got, model)
	}
	if cl := x.UpstreamHeaders.Get("Content-Length"); cl != strconv.Itoa(len(x.UpstreamBody)) {
		t.Errorf("upstream content-length %q, body %d bytes", cl, len(x.UpstreamBody))
	}
	if !x.RouteCacheCleared {
		t.Error("the route cache was not cleared: Envoy would keep the route picked before the model was set")
	}
}

func TestE2ERoutingPicksTheUpstream(t *testing.T) {
	e := startRouting(t)
	tests := []struct {
		name, model, prompt string
		headers             []string
		route, want         string
		// upstream is the fake that must answer; "" is the default one.
		upstream string
	}{
		{name: "mathematics prompt", model: "auto", prompt: "Solve these algebra equations with calculus",
			route: "mathematics", want: "math-model", upstream: "math-model"},
		{name: "music prompt", model: "auto", prompt: "Which symphonies did Beethoven compose?",
			route: "music", want: "music-model", upstream: "music-model"},
		{name: "unrelated prompt goes to the catch-all", model: "", prompt: "Recommend a good pizza recipe",
			route: "music", want: "music-model", upstream: "music-model"},
		{name: "client's routing header overwritten", model: "auto", prompt: "How do I prove theorems in algebra?",
			headers: []string{"X-Semproc-Model", "music-model"}, route: "mathematics", want: "math-model", upstream: "math-model"},
		{name: "explicit model left alone", model: "gpt-4o-mini", prompt: "Integrate this calculus equation please",
			route: "none", want: "gpt-4o-mini", upstream: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := e.upstream
			if tt.upstream != "" {
				fake = e.upstreams[tt.upstream]
			}
			before := fake.Calls.Load()
			body := chatBody(tt.model, tt.prompt)
			got := postRouted(t, e, body, tt.headers...)
			want := routed{status: "200", route: tt.route, model: tt.want, cache: "Miss", answeredBy: tt.want}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if fake.Calls.Load() != before+1 {
				t.Errorf("upstream %q was not called", tt.upstream)
			}
			checkUpstreamRequest(t, e, tt.want)
			if tt.want == tt.model && !bytes.Equal(e.lastExchange(t).UpstreamBody, []byte(body)) {
				t.Errorf("body changed although the model stayed:\n got %s\nwant %s", e.lastExchange(t).UpstreamBody, body)
			}
		})
	}
	if e.upstreams["math-model"].Calls.Load() != 2 || e.upstreams["music-model"].Calls.Load() != 2 || e.upstream.Calls.Load() != 1 {
		t.Errorf("upstream calls: math %d, music %d, default %d; want 2, 2, 1",
			e.upstreams["math-model"].Calls.Load(), e.upstreams["music-model"].Calls.Load(), e.upstream.Calls.Load())
	}
	e.checkExchanges(t)
}

// The cache partition holds the effective model: a routed request's entry
// serves its repeat and a request naming the routed model, never another
// model.
func TestE2ERoutedRepeatIsAHit(t *testing.T) {
	e := startRouting(t)
	const prompt = "Solve these algebra equations with calculus"
	math, music := e.upstreams["math-model"], e.upstreams["music-model"]
	if got := postRouted(t, e, chatBody("auto", prompt)); got.cache != "Miss" || got.model != "math-model" {
		t.Fatalf("first request: %+v", got)
	}
	e.waitStored(t, 1)
	tests := []struct {
		name, model string
		want        routed
	}{
		{"repeat", "auto", routed{"200", "mathematics", "math-model", "Hit", "math-model"}},
		{"routed model named", "math-model", routed{"200", "none", "math-model", "Hit", "math-model"}},
		{"another model", "music-model", routed{"200", "none", "music-model", "Miss", "music-model"}},
	}
	for _, tt := range tests {
		if got := postRouted(t, e, chatBody(tt.model, prompt)); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if math.Calls.Load() != 1 || music.Calls.Load() != 1 {
		t.Errorf("upstream calls: math %d, music %d; want 1, 1", math.Calls.Load(), music.Calls.Load())
	}
	e.checkExchanges(t)
}

// With the embeddings provider down a request without a model of its own
// still goes through, to the catch-all's model, uncached.
func TestE2ERoutingEmbeddingsDown(t *testing.T) {
	e := startRouting(t) // the descriptions are embedded at start-up
	e.embed.setMode("500")
	got := postRouted(t, e, chatBody("auto", "Solve these algebra equations with calculus"))
	want := routed{status: "200", route: "music", model: "music-model", cache: "Failed", answeredBy: "music-model"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if e.upstreams["music-model"].Calls.Load() != 1 {
		t.Error("the catch-all's upstream was not called")
	}
	checkUpstreamRequest(t, e, "music-model")
	e.checkExchanges(t)
}
