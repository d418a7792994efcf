package main

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
)

func TestE2EAnonymousRequestsAreNotShared(t *testing.T) {
	body := chatBody("gpt-4o-mini", "What is the capital of Peru?")
	for _, tc := range []struct {
		name string
		env  map[string]string
		// want are the statuses of: an anonymous request, the same again, the
		// same with a cookie (an identity semproc does not read).
		want [3]string
	}{
		{"bypass by default", nil, [3]string{"Bypass", "Bypass", "Bypass"}},
		{"shared on request", map[string]string{"SEMPROC_CACHE_ANONYMOUS": "shared"}, [3]string{"Miss", "Hit", "Hit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startE2E(t, tc.env)
			for i, headers := range [][]string{
				{"Authorization", ""},
				{"Authorization", ""},
				{"Authorization", "", "Cookie", "session=userB"},
			} {
				resp, _ := e.rawPost(t, "/v1/chat/completions", body, headers...)
				if got := resp.Header.Get("X-Cache-Status"); got != tc.want[i] {
					t.Errorf("request %d: X-Cache-Status %q, want %q", i, got, tc.want[i])
				}
				if i == 0 && tc.want[0] == "Miss" {
					e.waitStored(t, 1)
				}
			}
			e.checkExchanges(t)
		})
	}
}

// modes are the request body modes a user may configure, plus BUFFERED
// with client trailers that Envoy skips: the body then ends without
// end_of_stream and no trailers message follows.
var modes = []struct {
	name     string
	filter   func(*filterv3.ExternalProcessor)
	trailers bool
}{
	{"BUFFERED", nil, false},
	{"BUFFERED with skipped trailers", nil, true},
	{"STREAMED", func(f *filterv3.ExternalProcessor) {
		f.ProcessingMode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
	}, false},
	{"FULL_DUPLEX_STREAMED", func(f *filterv3.ExternalProcessor) {
		f.ProcessingMode.RequestBodyMode = filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
		f.ProcessingMode.RequestTrailerMode = filterv3.ProcessingMode_SEND
	}, false},
	// With client trailers the body ends without end_of_stream and the
	// trailers reply completes it (Envoy's handleTrailersResponse).
	{"FULL_DUPLEX_STREAMED with trailers", func(f *filterv3.ExternalProcessor) {
		f.ProcessingMode.RequestBodyMode = filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
		f.ProcessingMode.RequestTrailerMode = filterv3.ProcessingMode_SEND
	}, true},
}

func TestE2EClientRoutingHeaderNeverReachesTheRoute(t *testing.T) {
	env := maps.Clone(routingEnv)
	env["SEMPROC_ROUTING_MODE"] = "always"
	body := chatBody("gpt-4o-mini", "Solve these algebra equations with calculus")
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := startE2EWith(t, env, e2eOptions{modelUpstreams: []string{"math-model", "music-model", "spoofed"}, filter: mode.filter})
			for _, path := range []string{"/v1/chat/completions", "/v1/chat%2Fcompletions"} {
				req, _ := http.NewRequest(http.MethodPost, e.url+path, io.MultiReader(strings.NewReader(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer k")
				req.Header.Set("X-Semproc-Model", "spoofed")
				if mode.trailers {
					req.Trailer = http.Header{"X-Checksum": {"abc"}}
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				x := e.lastExchange(t)
				if got := x.UpstreamHeaders.Get("X-Semproc-Model"); got == "spoofed" || e.upstreams["spoofed"].Calls.Load() != 0 {
					t.Errorf("%s: the client's routing header reached the route (upstream header %q)", path, got)
				}
				if path == "/v1/chat/completions" {
					// Always mode: the routed target, or the catch-all for a
					// body semproc never saw whole (STREAMED in chunks).
					if got := x.UpstreamHeaders.Get("X-Semproc-Model"); got != "math-model" && got != "music-model" {
						t.Errorf("routed to %q, want a target's model", got)
					}
				}
				if x.FailedOpen != "" || x.Error != "" || resp.StatusCode != http.StatusOK {
					t.Errorf("%s: status %d, failed open %q, error %q", path, resp.StatusCode, x.FailedOpen, x.Error)
				}
			}
		})
	}
}

// readyz returns /readyz's dependencies.
func readyz(t *testing.T, e *e2e) map[string]dependency {
	t.Helper()
	resp, err := http.Get("http://" + e.admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Dependencies map[string]struct {
			State       string `json:"state"`
			Breaker     string `json:"breaker"`
			LastFailure string `json:"last_failure"`
			Dimensions  int    `json:"dimensions"`
		} `json:"dependencies"`
	}
	raw := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &body) != nil {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), "overloaded") || strings.Contains(string(raw), "127.0.0.1") {
		t.Errorf("/readyz carries a provider's error text: %s", raw)
	}
	out := map[string]dependency{}
	for k, d := range body.Dependencies {
		out[k] = dependency{State: d.State, Dimensions: d.Dimensions}
	}
	return out
}

func waitReady(t *testing.T, e *e2e, what string, ok func(map[string]dependency) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(readyz(t, e)); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, readyz(t, e))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cacheStatus(t *testing.T, e *e2e, prompt string) string {
	t.Helper()
	resp, _ := e.rawPost(t, "/v1/chat/completions", chatBody("gpt-4o-mini", prompt))
	return resp.Header.Get("X-Cache-Status")
}

// A hanging provider costs the timeout only until the breaker opens; exact
// hits never needed it; a probe closes the breaker once it answers again.
func TestE2EHangingProviderOpensTheBreaker(t *testing.T) {
	e := startE2E(t, map[string]string{"SEMPROC_BREAKER_FAILURES": "3", "SEMPROC_BREAKER_COOLDOWN": "200ms"})
	if got := cacheStatus(t, e, "Name a red fruit"); got != "Miss" {
		t.Fatalf("first request %q", got)
	}
	e.waitStored(t, 1)
	e.embed.setMode("hang")
	before := e.embed.calls.Load()
	for i := range 6 {
		if got := cacheStatus(t, e, "hanging prompt number "+string(rune('a'+i))); got != "Failed" {
			t.Errorf("request %d during the hang: %q, want Failed", i, got)
		}
	}
	if calls := e.embed.calls.Load() - before; calls > 4 {
		t.Errorf("%d embeddings calls for 6 requests: the breaker did not open after 3 timeouts (a probe may add one)", calls)
	}
	if got := cacheStatus(t, e, "Name a red fruit"); got != "Hit" {
		t.Errorf("exact repeat with the breaker open: %q, want Hit", got)
	}
	if d := readyz(t, e)["embeddings"]; d.State != "open" {
		t.Errorf("/readyz embeddings %+v, want open", d)
	}
	e.embed.setMode("")
	waitReady(t, e, "a probe to close the breaker", func(d map[string]dependency) bool {
		_ = cacheStatus(t, e, "a request that triggers the probe")
		return d["embeddings"].State == "ok"
	})
	if got := cacheStatus(t, e, "Which ocean is the deepest?"); got != "Miss" {
		t.Errorf("after the provider recovered: %q, want Miss", got)
	}
	e.checkExchanges(t)
}

func TestE2EZeroVectorsAreNotCached(t *testing.T) {
	e := startE2E(t, nil)
	e.embed.setMode("zero")
	if got := cacheStatus(t, e, "What colour is the sky?"); got != "Failed" {
		t.Errorf("with all-zero vectors: %q, want Failed", got)
	}
	e.embed.setMode("")
	if got := cacheStatus(t, e, "What colour is the sky?"); got != "Miss" {
		t.Errorf("after the provider recovered: %q, want Miss (the zero vector must not have been kept)", got)
	}
}

// A provider that answered 3 dimensions at start-up, then 64 for good:
// the dimension is learnt again with the store namespace, without a
// restart.
func TestE2EDimensionChangeAfterStartUpHeals(t *testing.T) {
	e := startE2EWith(t, map[string]string{"SEMPROC_EMBEDDINGS_DIMENSIONS": "", "SEMPROC_BREAKER_FAILURES": "50"}, e2eOptions{embedMode: "3d"})
	waitReady(t, e, "the 3 dimensions to be learnt", func(d map[string]dependency) bool {
		return d["embeddings"].Dimensions == 3 && d["store"].State == "ok"
	})
	e.embed.setMode("")
	statuses := []string{}
	for i := 0; i < 10 && !strings.HasSuffix(strings.Join(statuses, ","), "Miss"); i++ {
		statuses = append(statuses, cacheStatus(t, e, "Which planet is largest? try "+string(rune('a'+i))))
		time.Sleep(20 * time.Millisecond) // the store reopens in the background
	}
	if statuses[len(statuses)-1] != "Miss" {
		t.Fatalf("statuses %v: the new dimension was never learnt", statuses)
	}
	if d := readyz(t, e)["embeddings"]; d.Dimensions != 64 {
		t.Errorf("/readyz embeddings %+v, want 64 dimensions", d)
	}
	if got := cacheStatus(t, e, "Which planet is largest? try a"); got != "Miss" && got != "Hit" {
		t.Errorf("after healing: %q", got)
	}
}
