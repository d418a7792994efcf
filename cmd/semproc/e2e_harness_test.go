package main

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/semproc/semproc/envoy"
	"github.com/semproc/semproc/extproc/envoysim"
	"github.com/semproc/semproc/internal/fakellm"
)

// e2e is semproc started in-process by run's serve, an Envoy stand-in
// configured with the shipped envoy/envoy.yaml filter, a fake upstream that
// answers like OpenAI, and a fake OpenAI-compatible embeddings server.
type e2e struct {
	proxy *envoysim.Proxy
	url   string // the stand-in's base URL, for clients
	// upstreamURL is the fake LLM's own URL, to ask it directly.
	upstreamURL string
	admin       string
	upstream    *fakellm.Chat
	// upstreams are the per-model fake upstreams of
	// e2eOptions.modelUpstreams.
	upstreams map[string]*fakellm.Chat
	embed     *fakeEmbeddings
}

func startE2E(t *testing.T, extraEnv map[string]string) *e2e {
	t.Helper()
	return startE2EWith(t, extraEnv, e2eOptions{})
}

// e2eOptions vary the harness for one test.
type e2eOptions struct {
	// modelUpstreams each get a fake upstream of their own (e2e.upstreams): the
	// stand-in sends a request whose x-semproc-model header names one of
	// them there, as an Envoy route matching that header would, and any
	// other request to e2e.upstream.
	modelUpstreams []string
	// upstream wraps the default fake upstream, e.g. to answer other APIs
	// on other paths; nil serves the fake chat API alone.
	upstream func(*fakellm.Chat) http.Handler
	// filter changes the ext_proc filter of envoy.yaml (processing modes).
	filter func(*filterv3.ExternalProcessor)
	// embedMode is the fake embeddings' mode from the start.
	embedMode string
}

func startE2EWith(t *testing.T, extraEnv map[string]string, opts e2eOptions) *e2e {
	t.Helper()
	e := &e2e{upstream: &fakellm.Chat{}, embed: &fakeEmbeddings{mode: opts.embedMode}, upstreams: map[string]*fakellm.Chat{}}
	var handler http.Handler = e.upstream
	if opts.upstream != nil {
		handler = opts.upstream(e.upstream)
	}
	up := httptest.NewServer(handler)
	t.Cleanup(up.Close)
	e.upstreamURL = up.URL
	emb := httptest.NewServer(e.embed)
	t.Cleanup(emb.Close)

	env := map[string]string{
		"SEMPROC_EMBEDDINGS_URL": emb.URL, "SEMPROC_EMBEDDINGS_TIMEOUT": "300ms", "SEMPROC_CACHE_DISTANCE_THRESHOLD": "0.3",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	s := startServe(t, env, testWriter{t})
	grpcAddr := s.grpcAddr
	e.admin = s.admin

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	filter, err := envoy.LoadExtProcFilter("../../envoy/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if opts.filter != nil {
		opts.filter(filter)
	}
	upURL, _ := url.Parse(up.URL)
	byModel := map[string]*url.URL{}
	for _, m := range opts.modelUpstreams {
		f := &fakellm.Chat{}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		e.upstreams[m] = f
		byModel[m], _ = url.Parse(srv.URL)
	}
	e.proxy, err = envoysim.New(envoysim.Options{
		Filter: filter, Client: extprocv3.NewExternalProcessorClient(conn),
		Upstream: func(h http.Header) *url.URL {
			if u := byModel[h.Get("x-semproc-model")]; u != nil {
				return u
			}
			return upURL
		},
		BufferLimit: 16 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(e.proxy)
	t.Cleanup(front.Close)
	e.url = front.URL
	return e
}

// served is semproc's serve started in-process by startServe.
type served struct {
	grpcAddr, admin string
	// cancel stops it, as SIGTERM does.
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// wait returns serve's result once it has stopped.
func (s *served) wait() error {
	s.once.Do(func() { s.err = <-s.done })
	return s.err
}

// startServe starts serve on free loopback ports with fake OpenAI-compatible
// embeddings of 64 dimensions, no drain delay and logs at warn, each
// overridden by env, logging into log. The test's clean-up stops it and
// fails on an unclean stop.
func startServe(t *testing.T, env map[string]string, log io.Writer) *served {
	t.Helper()
	all := map[string]string{
		"SEMPROC_GRPC_ADDR": "127.0.0.1:0", "SEMPROC_ADMIN_ADDR": "127.0.0.1:0", "SEMPROC_DRAIN_DELAY": "0s", "SEMPROC_LOG_LEVEL": "warn",
		"SEMPROC_EMBEDDINGS_PROVIDER": "openai", "SEMPROC_EMBEDDINGS_DIMENSIONS": "64",
	}
	if env["SEMPROC_EMBEDDINGS_URL"] == "" {
		emb := httptest.NewServer(&fakeEmbeddings{})
		t.Cleanup(emb.Close)
		all["SEMPROC_EMBEDDINGS_URL"] = emb.URL
	}
	for k, v := range env {
		all[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{cancel: cancel, done: make(chan error, 1)}
	addrs := make(chan [2]string, 1)
	go func() {
		s.done <- serve(ctx, environOf(all), log, func(g, a string) { addrs <- [2]string{g, a} })
	}()
	select {
	case a := <-addrs:
		s.grpcAddr, s.admin = a[0], a[1]
	case err := <-s.done:
		cancel()
		t.Fatalf("semproc did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := s.wait(); err != nil {
			t.Errorf("semproc stopped with %v", err)
		}
	})
	return s
}

// client is the official OpenAI SDK pointed at the stand-in.
func (e *e2e) client(key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(e.url+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

// metric sums the samples of a family of /metrics whose labels include
// every name and value pair of labels.
func (e *e2e) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	return sample(t, scrape(t, e.admin), name, labels...)
}

// waitStored waits until n completions have been stored: writes happen off
// the request path.
func (e *e2e) waitStored(t *testing.T, n float64) {
	t.Helper()
	waitStoredAt(t, e.admin, n)
}

// waitStoredAt waits until the semproc whose admin listener is at admin
// has stored n completions.
func waitStoredAt(t *testing.T, admin string, n float64) {
	t.Helper()
	stored := scrapeAfter(t, admin, n, "semproc_cache_stores_total", "result", "stored")
	if sample(t, stored, "semproc_cache_stores_total", "result", "stored") < n {
		t.Fatalf("fewer than %v completions stored", n)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fakeEmbeddings is an OpenAI-compatible /embeddings endpoint with
// bag-of-words vectors: texts that share words are close.
type fakeEmbeddings struct {
	calls atomic.Int64
	mu    sync.Mutex
	mode  string // "", "500", "hang", "garbage", "zero" (all-zero vectors), "3d" (3 dimensions), "dims" (a vector of the wrong size)
}

func (f *fakeEmbeddings) setMode(m string) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

func (f *fakeEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	switch mode {
	case "500":
		http.Error(w, `{"error":{"message":"overloaded","type":"server_error"}}`, http.StatusInternalServerError)
		return
	case "hang":
		// net/http notices a closed connection (and cancels the request's
		// context) only once the body has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	case "garbage":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"list","data":[{"embedding":"not a vector"`)
		return
	}
	var req struct {
		Input string `json:"input"`
	}
	if r.URL.Path != "/embeddings" || json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	vec := make([]float64, 64)
	for _, word := range strings.Fields(strings.ToLower(req.Input)) {
		h := fnv.New32a()
		h.Write([]byte(strings.Trim(word, "?.!,")))
		vec[h.Sum32()%64]++
	}
	vec[63] += 0.01
	switch mode {
	case "zero":
		clear(vec)
	case "3d":
		vec = []float64{1, 2, 3}
	case "dims":
		vec = vec[:32]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": "fake", "data": []any{map[string]any{"object": "embedding", "index": 0, "embedding": vec}}})
}

// rawPost sends a request with net/http and returns the response and its
// whole body. It carries a tenant's Authorization unless headers set it
// empty (an anonymous request).
func (e *e2e) rawPost(t *testing.T, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return postJSON(t, e.url+path, body, append([]string{"Authorization", "Bearer e2e-tenant"}, headers...)...)
}

// postJSON posts a JSON body with headers (name, value, …; an empty value
// removes the header) and returns the response and its whole body.
func postJSON(t *testing.T, url, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// checkExchanges fails the test if any request through the stand-in ended
// processing early (fail-open) or got a local error reply: semproc must
// have kept Envoy's protocol rules.
func (e *e2e) checkExchanges(t *testing.T) {
	t.Helper()
	for i, x := range e.proxy.Exchanges() {
		if x.FailedOpen != "" || x.Error != "" {
			t.Errorf("exchange %d: failed open %q, error %q", i, x.FailedOpen, x.Error)
		}
	}
}

// lastExchange is the stand-in's record of the latest request; requests in
// these tests are sequential.
func (e *e2e) lastExchange(t *testing.T) envoysim.Exchange {
	t.Helper()
	xs := e.proxy.Exchanges()
	if len(xs) == 0 {
		t.Fatal("no request went through the stand-in")
	}
	return xs[len(xs)-1]
}
