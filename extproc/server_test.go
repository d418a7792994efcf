package extproc

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/semproc/semproc/semantic"
)

func hdrs(kv ...string) *corev3.HeaderMap {
	hm := &corev3.HeaderMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return hm
}

func reqHeaders(path string, eos bool, kv ...string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
		Headers: hdrs(append([]string{":method", "POST", ":path", path}, kv...)...), EndOfStream: eos,
	}}}
}

func duplex(m *extprocv3.ProcessingRequest) *extprocv3.ProcessingRequest {
	m.ProtocolConfig = &extprocv3.ProtocolConfiguration{RequestBodyMode: filterv3.ProcessingMode_FULL_DUPLEX_STREAMED}
	return m
}

func reqBody(b string, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(b), EndOfStream: eos}}}
}

func respHeaders(kv ...string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: hdrs(kv...)}}}
}

func respBody(b string, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: []byte(b), EndOfStream: eos}}}
}

type testEnv struct {
	srv   *Server
	store *semantic.Memory
}

func newTestEnv(t testing.TB, mut func(*Options)) *testEnv {
	t.Helper()
	store := mustMemory(t)
	cache, err := semantic.NewCache(semantic.CacheOptions{Embedder: wordEmbedder{}, Store: store, Threshold: 0.2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Formats: Formats{Chat: testFormat{}}, Cache: cache, ScopeHeaders: []string{"authorization"}, ModelHeader: "x-semproc-model",
		Countback: 1, MaxBody: 1 << 20, MaxCapture: 1 << 20, LookupTimeout: time.Second, StoreTimeout: time.Second,
	}
	if mut != nil {
		mut(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{srv: srv, store: store}
}

// exchange runs one stream and returns the replies to each message.
func (e *testEnv) exchange(t *testing.T, msgs ...*extprocv3.ProcessingRequest) [][]*extprocv3.ProcessingResponse {
	t.Helper()
	fs := &fakeStream{ctx: context.Background(), in: msgs}
	if err := e.srv.Process(fs); err != nil {
		t.Fatalf("Process: %v", err)
	}
	if err := e.srv.WaitForWrites(context.Background()); err != nil {
		t.Fatal(err)
	}
	bounds := append(fs.sent[:len(msgs)], len(fs.out))
	per := make([][]*extprocv3.ProcessingResponse, len(msgs))
	for i := range msgs {
		per[i] = fs.out[bounds[i]:bounds[i+1]]
	}
	return per
}

func setHeaders(m *extprocv3.HeaderMutation) map[string]string {
	out := map[string]string{}
	for _, h := range m.GetSetHeaders() {
		out[h.GetHeader().GetKey()] = string(h.GetHeader().GetRawValue())
		if h.GetHeader().GetValue() != "" {
			out[h.GetHeader().GetKey()] = "BAD: value set besides raw_value"
		}
	}
	return out
}

func one(t *testing.T, replies []*extprocv3.ProcessingResponse) *extprocv3.ProcessingResponse {
	t.Helper()
	if len(replies) != 1 {
		t.Fatalf("got %d replies to one message, want 1: %v", len(replies), replies)
	}
	return replies[0]
}

const okBody = `{"ok":true,"answer":"Paris"}`

func missThenStore(t *testing.T, e *testEnv, body string) [][]*extprocv3.ProcessingResponse {
	t.Helper()
	return e.exchange(t,
		reqHeaders("/v1/chat/completions", false, "authorization", "Bearer a", "accept-encoding", "gzip"),
		reqBody(body, true),
		respHeaders(":status", "200", "content-type", "application/json"),
		respBody(okBody[:10], false),
		respBody(okBody[10:], false),
		respBody("", true),
	)
}

func TestMissStoresThenExactAndSemanticHit(t *testing.T) {
	e := newTestEnv(t, nil)
	per := missThenStore(t, e, `{"model":"m","prompt":"capital of france"}`)
	for i, r := range per {
		one(t, r) // exactly one reply per message, in BUFFERED/STREAMED modes
		_ = i
	}
	if per[0][0].GetRequestHeaders() == nil || per[0][0].ModeOverride != nil {
		t.Errorf("request headers reply: %v", per[0][0])
	}
	body := per[1][0].GetRequestBody().GetResponse()
	if rm := body.GetHeaderMutation().GetRemoveHeaders(); len(rm) != 1 || rm[0] != "accept-encoding" {
		t.Errorf("accept-encoding not removed: %v", body)
	}
	rh := per[2][0]
	if got := setHeaders(rh.GetResponseHeaders().GetResponse().GetHeaderMutation())["x-cache-status"]; got != "Miss" {
		t.Errorf("x-cache-status = %q, want Miss", got)
	}
	if rh.GetModeOverride().GetResponseBodyMode() != filterv3.ProcessingMode_STREAMED {
		t.Errorf("response body not switched to STREAMED: %v", rh.GetModeOverride())
	}
	if md := rh.GetDynamicMetadata().GetFields()["semproc"].GetStructValue().GetFields(); md["cache_status"].GetStringValue() != "Miss" {
		t.Errorf("dynamic metadata: %v", md)
	}
	if e.store.Len() != 1 {
		t.Fatalf("store holds %d entries after a clean response, want 1", e.store.Len())
	}

	for _, tt := range []struct{ prompt, distance string }{{"capital of france", "0"}, {"capital of france please", ""}} {
		per = e.exchange(t, reqHeaders("/v1/chat/completions", false, "authorization", "Bearer a"), reqBody(`{"model":"m","prompt":"`+tt.prompt+`"}`, true))
		ir := one(t, per[1]).GetImmediateResponse()
		if ir == nil {
			t.Fatalf("%q: no immediate response: %v", tt.prompt, per[1])
		}
		if string(ir.GetBody()) != okBody {
			t.Errorf("hit body %q, want the stored %q", ir.GetBody(), okBody)
		}
		h := setHeaders(ir.GetHeaders())
		if h["x-cache-status"] != "Hit" || !strings.HasPrefix(h["x-cache-key"], "semproc:memory:test:32:") || h["content-type"] != "application/json" {
			t.Errorf("%q: hit headers %v", tt.prompt, h)
		}
		if ttl, err := strconv.Atoi(h["x-cache-ttl"]); err != nil || ttl < 3590 || ttl > 3600 {
			t.Errorf("x-cache-ttl %q", h["x-cache-ttl"])
		}
		if h["age"] != "0" {
			t.Errorf("age %q", h["age"])
		}
		if tt.distance != "" && h["x-cache-distance"] != tt.distance {
			t.Errorf("%q: distance %q, want %q", tt.prompt, h["x-cache-distance"], tt.distance)
		}
		if tt.distance == "" {
			if d, err := strconv.ParseFloat(h["x-cache-distance"], 64); err != nil || d < 0.0001 {
				t.Errorf("semantic hit distance %q", h["x-cache-distance"])
			}
		}
	}
	// Another tenant never sees it.
	per = e.exchange(t, reqHeaders("/v1/chat/completions", false, "authorization", "Bearer b"), reqBody(`{"model":"m","prompt":"capital of france"}`, true))
	if one(t, per[1]).GetImmediateResponse() != nil {
		t.Error("another API key got a hit")
	}
}

func TestResponsesThatAreNotStored(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		body    string
		eos     bool
	}{
		{"upstream 500", []string{":status", "500"}, okBody, true},
		{"no-store", []string{":status", "200", "cache-control", "no-store"}, okBody, true},
		{"private", []string{":status", "200", "cache-control", "private"}, okBody, true},
		{"max-age=0", []string{":status", "200", "cache-control", "max-age=0"}, okBody, true},
		{"gzip", []string{":status", "200", "content-encoding", "gzip"}, okBody, true},
		{"capture rejects", []string{":status", "200"}, `{"ok":false}`, true},
		{"stream cut before its end", []string{":status", "200"}, okBody, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			per := e.exchange(t, reqHeaders("/v1/chat/completions", false), reqBody(`{"model":"m","prompt":"hi"}`, true),
				respHeaders(tt.headers...), respBody(tt.body, tt.eos))
			for _, r := range per {
				one(t, r)
			}
			if e.store.Len() != 0 {
				t.Errorf("stored %d entries", e.store.Len())
			}
		})
	}
}

func TestUnhandledRequestsCostOneRoundTrip(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, m := range []*extprocv3.ProcessingRequest{
		reqHeaders("/v1/models", false),
		reqHeaders("/v1/threads/t/messages", false),
		{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: hdrs(":method", "GET", ":path", "/v1/chat/completions")}}},
	} {
		r := one(t, e.exchange(t, m)[0])
		mo := r.GetModeOverride()
		if r.GetRequestHeaders() == nil || mo.GetResponseHeaderMode() != filterv3.ProcessingMode_SKIP || mo.GetRequestBodyMode() != filterv3.ProcessingMode_NONE || mo.GetResponseBodyMode() != filterv3.ProcessingMode_NONE {
			t.Errorf("%v: reply %v", m, r)
		}
		if r.GetRequestHeaders().GetResponse().GetHeaderMutation() != nil {
			t.Error("pass-through must not touch headers")
		}
	}
}

func TestBypassAndControls(t *testing.T) {
	tests := []struct {
		name, body string
		kv         []string
		want       string
	}{
		{"not JSON", `not json`, nil, "Bypass"},
		{"JSON array", `[1,2]`, nil, "Bypass"},
		{"empty body", ``, nil, "Bypass"},
		{"no-store", `{"prompt":"x"}`, []string{"cache-control", "no-store"}, "Bypass"},
		{"no-cache", `{"prompt":"x"}`, []string{"cache-control", "no-cache"}, "Refresh"},
		{"plain", `{"prompt":"x"}`, nil, "Miss"},
		{"anonymous", `{"prompt":"x"}`, []string{"anonymous", ""}, "Bypass"},
		{"anonymous shared", `{"prompt":"x"}`, []string{"anonymous", "shared"}, "Miss"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := append([]string{"authorization", "Bearer a"}, tt.kv...)
			shared := false
			if len(tt.kv) == 2 && tt.kv[0] == "anonymous" {
				kv, shared = nil, tt.kv[1] == "shared"
			}
			e := newTestEnv(t, func(o *Options) { o.ShareAnonymous = shared })
			per := e.exchange(t, reqHeaders("/v1/chat/completions", false, kv...), reqBody(tt.body, true), respHeaders(":status", "200"))
			rh := one(t, per[2]).GetResponseHeaders()
			if got := setHeaders(rh.GetResponse().GetHeaderMutation())["x-cache-status"]; got != tt.want {
				t.Errorf("x-cache-status %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEmbeddingsDownFailsOpen(t *testing.T) {
	e := newTestEnv(t, func(o *Options) {
		store, _ := semantic.NewMemory(semantic.MemoryOptions{MaxEntries: 10})
		o.Cache, _ = semantic.NewCache(semantic.CacheOptions{Embedder: wordEmbedder{err: errors.New("503")}, Store: store, Threshold: 0.2, TTL: time.Hour})
	})
	per := e.exchange(t, reqHeaders("/v1/chat/completions", false, "authorization", "k"), reqBody(`{"prompt":"x"}`, true), respHeaders(":status", "200"), respBody(okBody, true))
	if one(t, per[1]).GetRequestBody() == nil {
		t.Fatal("request did not continue upstream")
	}
	rh := one(t, per[2])
	if got := setHeaders(rh.GetResponseHeaders().GetResponse().GetHeaderMutation())["x-cache-status"]; got != "Failed" {
		t.Errorf("x-cache-status %q", got)
	}
	if rh.GetModeOverride().GetResponseBodyMode() != filterv3.ProcessingMode_NONE {
		t.Error("a Failed request's response body must not be captured")
	}
}

func TestPanicPassesThrough(t *testing.T) {
	e := newTestEnv(t, nil)
	per := e.exchange(t, reqHeaders("/v1/chat/completions", false), reqBody(`{"prompt":"x","panic":true}`, true), respHeaders(":status", "200"))
	if r := one(t, per[1]); r.GetRequestBody() == nil || r.GetRequestBody().GetResponse().GetBodyMutation() != nil {
		t.Errorf("after a panic: %v", r)
	}
	if r := one(t, per[2]); r.GetResponseHeaders() == nil {
		t.Errorf("later messages must still get their replies: %v", r)
	}
}

func TestBodySplitAcrossChunks(t *testing.T) {
	e := newTestEnv(t, nil)
	missThenStore(t, e, `{"model":"m","prompt":"capital of france"}`)
	body := `{"model":"m","prompt":"capital of france"}`
	per := e.exchange(t, reqHeaders("/v1/chat/completions", false, "authorization", "Bearer a"), reqBody(body[:7], false), reqBody(body[7:20], false), reqBody(body[20:], true))
	for i := 1; i < 3; i++ {
		if one(t, per[i]).GetRequestBody() == nil {
			t.Fatalf("chunk %d: %v", i, per[i])
		}
	}
	if one(t, per[3]).GetImmediateResponse() == nil {
		t.Errorf("a body in three chunks did not hit: %v", per[3])
	}
}

func TestRoutingRewritesBodyHeaderAndRouteCache(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.Router = fakeRouter{} })
	per := e.exchange(t, reqHeaders("/v1/chat/completions", false, "x-semproc-model", "spoofed"), reqBody(`{"model":"auto","prompt":"some math please","n":1}`, true), respHeaders(":status", "200"))
	c := one(t, per[1]).GetRequestBody().GetResponse()
	newBody := c.GetBodyMutation().GetBody()
	if !bytes.Contains(newBody, []byte(`"model":"big-model"`)) || !bytes.Contains(newBody, []byte(`"n":1`)) {
		t.Errorf("body %s", newBody)
	}
	h := setHeaders(c.GetHeaderMutation())
	if h["content-length"] != strconv.Itoa(len(newBody)) || h["x-semproc-model"] != "big-model" {
		t.Errorf("headers %v for a %d-byte body", h, len(newBody))
	}
	if !c.GetClearRouteCache() || c.GetHeaderMutation() == nil {
		t.Error("route cache not cleared with a header mutation")
	}
	rh := setHeaders(one(t, per[2]).GetResponseHeaders().GetResponse().GetHeaderMutation())
	if rh["x-semproc-route"] != "math" || rh["x-semproc-model"] != "big-model" {
		t.Errorf("response headers %v", rh)
	}
	// An explicit model keeps its body, still gets the header.
	per = e.exchange(t, reqHeaders("/v1/chat/completions", false), reqBody(`{"model":"mine","prompt":"math"}`, true))
	c = one(t, per[1]).GetRequestBody().GetResponse()
	if c.GetBodyMutation() != nil || setHeaders(c.GetHeaderMutation())["x-semproc-model"] != "mine" || !c.GetClearRouteCache() {
		t.Errorf("explicit model: %v", c)
	}
	// A model that cannot be a header value passes through untouched: no
	// routing header Envoy would refuse, nothing cached.
	for _, model := range []string{"gpt\u0000", "gpt\n-4", "a\r\nx-evil: 1", "x\u007f"} {
		per = e.exchange(t, reqHeaders("/v1/chat/completions", false, "authorization", "a"), reqBody(`{"model":"`+model+`","prompt":"math"}`, true), respHeaders(":status", "200"))
		c = one(t, per[1]).GetRequestBody().GetResponse()
		rh := setHeaders(one(t, per[2]).GetResponseHeaders().GetResponse().GetHeaderMutation())
		if c.GetBodyMutation() != nil || c.GetHeaderMutation() != nil && len(setHeaders(c.GetHeaderMutation())) > 0 || rh["x-semproc-model"] != "" || rh["x-cache-status"] != "Bypass" {
			t.Errorf("model %q: request reply %v, response headers %v; want it untouched, Bypass", model, c, rh)
		}
	}
}

func TestFullDuplexHoldsHeadersAndStreamsBodyBack(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.Router = fakeRouter{} })
	pad := strings.Repeat("word ", 30_000) // 150 kB: three streamed chunks
	body := `{"model":"auto","prompt":"math ` + pad + `"}`
	per := e.exchange(t, duplex(reqHeaders("/v1/chat/completions", false)), reqBody(body[:1000], false), reqBody(body[1000:], true))
	if len(per[0]) != 0 || len(per[1]) != 0 {
		t.Fatalf("replies before the body was complete: %v %v", per[0], per[1])
	}
	out := per[2]
	if len(out) < 4 || out[0].GetRequestHeaders() == nil {
		t.Fatalf("want the headers reply then the streamed body, got %d replies", len(out))
	}
	if h := setHeaders(out[0].GetRequestHeaders().GetResponse().GetHeaderMutation()); h["x-semproc-model"] != "big-model" || h["content-length"] != "" {
		t.Errorf("held headers reply: %v", h)
	}
	var got []byte
	for i, r := range out[1:] {
		sr := r.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse()
		if sr == nil || len(sr.GetBody()) > maxStreamedChunk {
			t.Fatalf("chunk %d: %v", i, r)
		}
		if sr.GetEndOfStream() != (i == len(out)-2) {
			t.Errorf("chunk %d end_of_stream %v", i, sr.GetEndOfStream())
		}
		got = append(got, sr.GetBody()...)
	}
	if !bytes.Contains(got, []byte(`"model":"big-model"`)) || !bytes.Contains(got, []byte(pad)) {
		t.Error("the streamed body is not the rewritten request")
	}
}

func TestFullDuplexOverLimitPassesThroughWhatWasHeld(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.MaxBody = 2048 })
	per := e.exchange(t, duplex(reqHeaders("/v1/chat/completions", false)), reqBody(strings.Repeat("a", 1500), false), reqBody(strings.Repeat("b", 1500), false), reqBody("c", true))
	if len(per[1]) != 0 {
		t.Fatal("replied before the limit was reached")
	}
	var got []byte
	if per[2][0].GetRequestHeaders() == nil {
		t.Fatalf("headers reply must come first: %v", per[2][0])
	}
	for _, r := range append(per[2][1:], per[3]...) {
		got = append(got, r.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody()...)
	}
	if want := strings.Repeat("a", 1500) + strings.Repeat("b", 1500) + "c"; string(got) != want {
		t.Errorf("passed-through body has %d bytes, want %d", len(got), len(want))
	}
}

func TestFullDuplexPanicSendsTheBodyOnce(t *testing.T) {
	e := newTestEnv(t, nil)
	body := `{"prompt":"x","panic":true}`
	per := e.exchange(t, duplex(reqHeaders("/v1/chat/completions", false)), reqBody(body[:10], false), reqBody(body[10:], true))
	out := per[2]
	if len(out) < 2 || out[0].GetRequestHeaders() == nil {
		t.Fatalf("want the held headers reply, then the body: %v", out)
	}
	var got []byte
	for _, r := range out[1:] {
		got = append(got, r.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody()...)
	}
	if string(got) != body {
		t.Errorf("body after a panic %q, want %q", got, body)
	}
}

// modeConfig announces a request body mode in protocol_config.
func modeConfig(m *extprocv3.ProcessingRequest, mode filterv3.ProcessingMode_BodySendMode) *extprocv3.ProcessingRequest {
	m.ProtocolConfig = &extprocv3.ProtocolConfiguration{RequestBodyMode: mode}
	return m
}

// routeHeaderReply finds the request headers reply and says whether it
// removes the client's routing header, what it sets it to, and whether it
// clears the route cache.
func routeHeaderReply(t *testing.T, per [][]*extprocv3.ProcessingResponse) (removed bool, set string, cleared bool) {
	t.Helper()
	for _, replies := range per {
		for _, r := range replies {
			if c := r.GetRequestHeaders().GetResponse(); r.GetRequestHeaders() != nil {
				removed = slices.Contains(c.GetHeaderMutation().GetRemoveHeaders(), "x-semproc-model")
				return removed, setHeaders(c.GetHeaderMutation())["x-semproc-model"], c.GetClearRouteCache()
			}
		}
	}
	t.Fatal("no request headers reply")
	return
}

// panickingStore panics on a lookup, as a store with a bug would.
type panickingStore struct{}

var _ semantic.VectorStore = panickingStore{}

func (panickingStore) Get(context.Context, semantic.Partition, string) (*semantic.Match, error) {
	panic("store bug")
}
func (panickingStore) Search(context.Context, semantic.Query) ([]semantic.Match, error) {
	return nil, nil
}
func (panickingStore) Put(context.Context, semantic.Entry) error { return nil }

// A panic after routing rewrote the held body still sends the body the
// client sent, whole and once: not a piece of the rewritten one.
func TestFullDuplexPanicAfterRoutingSendsTheClientsBody(t *testing.T) {
	cache, err := semantic.NewCache(semantic.CacheOptions{Embedder: wordEmbedder{}, Store: panickingStore{}, Threshold: 0.2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, func(o *Options) { o.Router = fakeRouter{}; o.Cache = cache })
	body := `{"model":"auto","prompt":"math please"}`
	per := e.exchange(t, duplex(reqHeaders("/v1/chat/completions", false, "authorization", "a")), reqBody(body[:30], false), reqBody(body[30:], true))
	var got []byte
	for _, r := range per[2] {
		got = append(got, r.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody()...)
	}
	if string(got) != body {
		t.Errorf("body forwarded after a panic %q, want %q", got, body)
	}
}

func TestRoutingHeaderFromClientNeverSurvives(t *testing.T) {
	spoofed := func() *extprocv3.ProcessingRequest {
		return reqHeaders("/v1/chat/completions", false, "x-semproc-model", "spoofed")
	}
	body := `{"model":"auto","prompt":"math please"}`
	for _, tc := range []struct {
		name   string
		always bool
		msgs   []*extprocv3.ProcessingRequest
		// wantSet is the model the headers reply sets ("" = none).
		wantSet string
	}{
		{"buffered", false, []*extprocv3.ProcessingRequest{modeConfig(spoofed(), filterv3.ProcessingMode_BUFFERED), reqBody(body, true)}, ""},
		{"buffered, trailers skipped: body never ends", true, []*extprocv3.ProcessingRequest{modeConfig(spoofed(), filterv3.ProcessingMode_BUFFERED), reqBody(body, false), respHeaders(":status", "200")}, "small-model"},
		{"streamed in chunks, always", true, []*extprocv3.ProcessingRequest{modeConfig(spoofed(), filterv3.ProcessingMode_STREAMED), reqBody(body[:9], false), reqBody(body[9:], true)}, "small-model"},
		{"full duplex", false, []*extprocv3.ProcessingRequest{duplex(spoofed()), reqBody(body, false), reqBody("", true)}, "big-model"},
		{"unreadable body", false, []*extprocv3.ProcessingRequest{spoofed(), reqBody(`not json`, true)}, ""},
		{"pass-through path", true, []*extprocv3.ProcessingRequest{reqHeaders("/v1/chat%2Fcompletions", false, "x-semproc-model", "spoofed")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, func(o *Options) { o.Router = fakeRouter{always: tc.always} })
			removed, set, cleared := routeHeaderReply(t, e.exchange(t, tc.msgs...))
			if !removed || !cleared || set != tc.wantSet {
				t.Errorf("headers reply: removed %v, set %q, route cleared %v; want removed, set %q, cleared", removed, set, cleared, tc.wantSet)
			}
		})
	}
}

func TestBufferedBodyWithTrailersIsRouted(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.Router = fakeRouter{} })
	per := e.exchange(t, modeConfig(reqHeaders("/v1/chat/completions", false, "authorization", "a"), filterv3.ProcessingMode_BUFFERED),
		reqBody(`{"model":"auto","prompt":"math please"}`, false), respHeaders(":status", "200"))
	c := one(t, per[1]).GetRequestBody().GetResponse()
	if h := setHeaders(c.GetHeaderMutation()); h["x-semproc-model"] != "big-model" || !c.GetClearRouteCache() {
		t.Errorf("a BUFFERED body followed by (skipped) trailers must be routed: %v", c)
	}
	if got := setHeaders(one(t, per[2]).GetResponseHeaders().GetResponse().GetHeaderMutation())["x-cache-status"]; got != "Miss" {
		t.Errorf("x-cache-status %q: the body was not looked up", got)
	}
}

func TestStreamedRequestBodyIsNotRouted(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.Router = fakeRouter{} })
	body := `{"model":"auto","prompt":"math please"}`
	per := e.exchange(t, reqHeaders("/v1/chat/completions", false), reqBody(body[:9], false), reqBody(body[9:], true), respHeaders(":status", "200"))
	if c := one(t, per[2]).GetRequestBody().GetResponse(); c.GetBodyMutation() != nil {
		t.Errorf("a body that already went upstream in pieces cannot be rewritten: %v", c)
	}
	if h := setHeaders(one(t, per[3]).GetResponseHeaders().GetResponse().GetHeaderMutation()); h["x-semproc-model"] != "auto" || h["x-semproc-route"] != "none" {
		t.Errorf("response headers %v: the request kept its own model", h)
	}
	// Nor a STREAMED body in one chunk: Envoy would ignore the route header.
	per = e.exchange(t, modeConfig(reqHeaders("/v1/chat/completions", false), filterv3.ProcessingMode_STREAMED), reqBody(body, true), respHeaders(":status", "200"))
	if c := one(t, per[1]).GetRequestBody().GetResponse(); c.GetBodyMutation() != nil || setHeaders(c.GetHeaderMutation())["x-semproc-model"] != "" {
		t.Errorf("a STREAMED body in one chunk was rewritten: %v", c)
	}
	if h := setHeaders(one(t, per[2]).GetResponseHeaders().GetResponse().GetHeaderMutation()); h["x-semproc-model"] != "auto" {
		t.Errorf("response headers %v: the request kept its own model", h)
	}
}
