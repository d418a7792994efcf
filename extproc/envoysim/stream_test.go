package envoysim

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

// onRequestHeaders answers the request headers with r(req) and everything
// else with CONTINUE.
func onRequestHeaders(r func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error)) script {
	return func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		if req.GetRequestHeaders() != nil {
			return r(req)
		}
		return continueAll(req)
	}
}

func TestFailures(t *testing.T) {
	wrongType := func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return []*extprocv3.ProcessingResponse{{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}}, nil
	}
	empty := func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return []*extprocv3.ProcessingResponse{{}}, nil
	}
	onlyOverride := func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return []*extprocv3.ProcessingResponse{{ModeOverride: &filterv3.ProcessingMode{}}}, nil
	}
	silent := func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) { return nil, nil }
	closing := func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return nil, errCloseStream
	}
	twoReplies := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return []*extprocv3.ProcessingResponse{reply(req, &extprocv3.CommonResponse{}), reply(req, &extprocv3.CommonResponse{})}, nil
	}
	tests := []struct {
		name       string
		script     script
		failOpen   bool
		wantStatus int
		wantReason FailOpen
	}{
		{"wrong reply type, fail open", onRequestHeaders(wrongType), true, 200, FailOpenSpurious},
		{"wrong reply type, fail closed", onRequestHeaders(wrongType), false, 500, ""},
		{"empty reply", onRequestHeaders(empty), true, 200, FailOpenSpurious},
		{"reply with only mode_override", onRequestHeaders(onlyOverride), false, 500, ""},
		{"second reply to one message", onRequestHeaders(twoReplies), true, 200, FailOpenSpurious},
		{"timeout, fail open", onRequestHeaders(silent), true, 200, FailOpenTimeout},
		{"timeout, fail closed", onRequestHeaders(silent), false, 504, ""},
		{"clean close goes on", onRequestHeaders(closing), false, 200, FailOpenClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			f := ShippedFilter()
			f.FailureModeAllow = tt.failOpen
			f.MessageTimeout = durationpb.New(20 * time.Millisecond)
			h := newHarness(t, f, tt.script, echoUpstream(&calls))
			resp, body := post(t, h.url, `{"a":1}`)
			ex := h.lastExchange(t)
			if resp.StatusCode != tt.wantStatus || ex.FailedOpen != tt.wantReason || ex.Status != tt.wantStatus {
				t.Fatalf("status %d failed open %q (%s), want %d %q", resp.StatusCode, ex.FailedOpen, ex.Error, tt.wantStatus, tt.wantReason)
			}
			if tt.wantStatus == 200 && (body != `{"echo":"{\"a\":1}"}` || string(ex.UpstreamBody) != `{"a":1}`) {
				t.Fatalf("unprocessed request changed: %q", body)
			}
			if tt.wantStatus != 200 && calls.Load() != 0 {
				t.Fatal("upstream called")
			}
		})
	}
}

// TestFailOpenPassesQueuedData: a spurious reply to a streamed chunk lets
// the chunks in flight and the rest of the body through untouched.
func TestFailOpenPassesQueuedData(t *testing.T) {
	body := strings.Repeat("x", 100000)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) })
	s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		if req.GetResponseBody() != nil {
			return []*extprocv3.ProcessingResponse{{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}}, nil
		}
		return continueAll(req)
	}
	f := ShippedFilter()
	f.ProcessingMode.ResponseBodyMode = filterv3.ProcessingMode_STREAMED
	h := newHarness(t, f, s, upstream)
	resp, got := post(t, h.url, `{}`)
	ex := h.lastExchange(t)
	if resp.StatusCode != 200 || got != body || ex.FailedOpen != FailOpenSpurious {
		t.Fatalf("status %d, %d bytes, failed open %q", resp.StatusCode, len(got), ex.FailedOpen)
	}
}

func TestModeOverride(t *testing.T) {
	override := func(where string, pm *filterv3.ProcessingMode) script {
		return func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
			out, _ := continueAll(req)
			if (where == "headers" && req.GetRequestHeaders() != nil) || (where == "body" && req.GetRequestBody() != nil) {
				out[0].ModeOverride = pm
			}
			return out, nil
		}
	}
	skipRest := &filterv3.ProcessingMode{RequestBodyMode: filterv3.ProcessingMode_NONE, ResponseHeaderMode: filterv3.ProcessingMode_SKIP}
	bodyOnly := &filterv3.ProcessingMode{RequestBodyMode: filterv3.ProcessingMode_BUFFERED}
	tests := []struct {
		name   string
		filter func(*filterv3.ExternalProcessor)
		script script
		want   []string
	}{
		{"no override", nil, continueAll,
			[]string{"request_headers", "request_body({}) eos", "response_headers", "response_body(ok) eos"}},
		{"headers reply skips the rest", nil, override("headers", skipRest), []string{"request_headers"}},
		{"DEFAULT header modes keep config, unset body modes are NONE", nil, override("headers", bodyOnly),
			[]string{"request_headers", "request_body({}) eos", "response_headers"}},
		{"ignored without allow_mode_override", func(f *filterv3.ExternalProcessor) { f.AllowModeOverride = false }, override("headers", skipRest),
			[]string{"request_headers", "request_body({}) eos", "response_headers", "response_body(ok) eos"}},
		{"ignored in a body reply", nil, override("body", skipRest),
			[]string{"request_headers", "request_body({}) eos", "response_headers", "response_body(ok) eos"}},
		{"ignored with send_body_without_waiting_for_header_response", func(f *filterv3.ExternalProcessor) { f.SendBodyWithoutWaitingForHeaderResponse = true }, override("headers", skipRest),
			[]string{"request_headers", "request_body({}) eos", "response_headers", "response_body(ok) eos"}},
		{"refused by allowed_override_modes", func(f *filterv3.ExternalProcessor) {
			f.AllowedOverrideModes = []*filterv3.ProcessingMode{{ResponseHeaderMode: filterv3.ProcessingMode_SEND}}
		}, override("headers", skipRest),
			[]string{"request_headers", "request_body({}) eos", "response_headers", "response_body(ok) eos"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ShippedFilter()
			if tt.filter != nil {
				tt.filter(f)
			}
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
			h := newHarness(t, f, tt.script, ok)
			resp, body := post(t, h.url, `{}`)
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if got := kinds(h.lastExchange(t).Sent()); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("messages %q, want %q", got, tt.want)
			}
		})
	}
}

func TestModeOverrideIgnoredWithConfiguredDuplex(t *testing.T) {
	s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		switch {
		case req.GetRequestHeaders() != nil:
			out, _ := continueAll(req)
			out[0].ModeOverride = &filterv3.ProcessingMode{ResponseHeaderMode: filterv3.ProcessingMode_SKIP}
			return out, nil
		case req.GetRequestBody() != nil:
			b := req.GetRequestBody()
			return []*extprocv3.ProcessingResponse{streamedReply(req, string(b.GetBody()), b.GetEndOfStream())}, nil
		}
		return continueAll(req)
	}
	f := ShippedFilter()
	f.FailureModeAllow = false
	f.ProcessingMode.RequestBodyMode = filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
	f.ProcessingMode.RequestTrailerMode = filterv3.ProcessingMode_SEND
	var calls atomic.Int32
	h := newHarness(t, f, s, echoUpstream(&calls))
	resp, body := post(t, h.url, `{"a":1}`)
	if resp.StatusCode != 200 || body != `{"echo":"{\"a\":1}"}` {
		t.Fatalf("got %d %q (%s)", resp.StatusCode, body, h.lastExchange(t).Error)
	}
	var sawResponseHeaders bool
	for _, m := range h.lastExchange(t).Sent() {
		sawResponseHeaders = sawResponseHeaders || m.GetResponseHeaders() != nil
	}
	if !sawResponseHeaders {
		t.Fatal("mode_override applied although a body mode is FULL_DUPLEX_STREAMED")
	}
}

func TestContentLengthInStreamedMode(t *testing.T) {
	s := onRequestHeaders(func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return []*extprocv3.ProcessingResponse{reply(req, &extprocv3.CommonResponse{HeaderMutation: setHeaders(setRaw("content-length", "999"))})}, nil
	})
	f := ShippedFilter()
	f.ProcessingMode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
	var calls atomic.Int32
	h := newHarness(t, f, s, echoUpstream(&calls))
	resp, _ := post(t, h.url, `{"a":1}`)
	ex := h.lastExchange(t)
	if resp.StatusCode != 200 || string(ex.UpstreamBody) != `{"a":1}` {
		t.Fatalf("got %d, upstream body %q (%s)", resp.StatusCode, ex.UpstreamBody, ex.Error)
	}
	if v, _ := headerValue(ex.Sent()[0].GetRequestHeaders().GetHeaders(), "content-length"); v != "7" {
		t.Errorf("processor saw content-length %q, want the client's", v)
	}
	if _, ok := ex.UpstreamHeaders["Content-Length"]; ok {
		t.Errorf("upstream got content-length %q", ex.UpstreamHeaders.Get("Content-Length"))
	}
}

func TestRouteCache(t *testing.T) {
	hdr := func(clear bool, mut *extprocv3.HeaderMutation) *extprocv3.CommonResponse {
		return &extprocv3.CommonResponse{ClearRouteCache: clear, HeaderMutation: mut}
	}
	toB := setHeaders(setRaw("x-semproc-model", "b"))
	tests := []struct {
		name        string
		on          string // message answered with cr
		cr          *extprocv3.CommonResponse
		action      filterv3.ExternalProcessor_RouteCacheAction
		wantCleared bool
		wantB       bool
	}{
		{"headers reply with mutation", "request_headers", hdr(true, toB), 0, true, true},
		{"empty header_mutation counts", "request_headers", hdr(true, &extprocv3.HeaderMutation{}), 0, true, false},
		{"without header_mutation", "request_headers", hdr(true, nil), 0, false, false},
		{"mutation without clear keeps the route", "request_headers", hdr(false, toB), 0, false, false},
		{"buffered body reply", "request_body", hdr(true, toB), 0, true, true},
		{"response direction", "response_headers", hdr(true, toB), 0, false, false},
		{"route_cache_action RETAIN", "request_headers", hdr(true, toB), filterv3.ExternalProcessor_RETAIN, false, false},
		{"route_cache_action CLEAR", "request_headers", hdr(false, toB), filterv3.ExternalProcessor_CLEAR, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			defer b.Close()
			bURL, _ := url.Parse(b.URL)
			s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				if strings.HasPrefix(kind(req), tt.on) {
					return []*extprocv3.ProcessingResponse{reply(req, tt.cr)}, nil
				}
				return continueAll(req)
			}
			f := ShippedFilter()
			f.RouteCacheAction = tt.action
			var calls atomic.Int32
			h := newHarness(t, f, s, echoUpstream(&calls), func(o *Options) {
				a := o.Upstream
				o.Upstream = func(h http.Header) *url.URL {
					if h.Get("X-Semproc-Model") == "b" {
						return bURL
					}
					return a(h)
				}
			})
			resp, _ := post(t, h.url, `{}`)
			ex := h.lastExchange(t)
			if resp.StatusCode != 200 || ex.RouteCacheCleared != tt.wantCleared || (ex.UpstreamURL.Host == bURL.Host) != tt.wantB {
				t.Fatalf("status %d cleared %v upstream %v", resp.StatusCode, ex.RouteCacheCleared, ex.UpstreamURL)
			}
		})
	}
}

func TestImmediateResponseStatus(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantType   string
	}{
		{"unset status", 0, "", 200, ""},
		{"informational status", 100, "x", 200, "text/plain"},
		{"error status", 503, "down", 503, "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := onRequestHeaders(func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return []*extprocv3.ProcessingResponse{immediate(tt.status, tt.body, setHeaders(setRaw("x-envoy-upstream", "1")))}, nil
			})
			var calls atomic.Int32
			h := newHarness(t, ShippedFilter(), s, echoUpstream(&calls))
			resp, body := post(t, h.url, `{}`)
			if resp.StatusCode != tt.wantStatus || body != tt.body || resp.Header.Get("Content-Type") != tt.wantType || calls.Load() != 0 {
				t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
			}
			if resp.Header.Get("X-Envoy-Upstream") != "" {
				t.Error("x-envoy header set by an immediate response")
			}
		})
	}
}

// TestImmediateAfterStreamedHeaders: once streamed response headers went
// downstream, an immediate response can only reset the response.
func TestImmediateAfterStreamedHeaders(t *testing.T) {
	s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		if req.GetResponseBody() != nil {
			return []*extprocv3.ProcessingResponse{immediate(429, "no", nil)}, nil
		}
		return continueAll(req)
	}
	f := ShippedFilter()
	f.ProcessingMode.ResponseBodyMode = filterv3.ProcessingMode_STREAMED
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the body never completes: it cannot go as one message
	})
	h := newHarness(t, f, s, upstream)
	resp, err := http.Post(h.url, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, body read error %v: want a reset 200 stream", resp.StatusCode, err)
	}
	if ex := h.lastExchange(t); !ex.Reset || ex.Status != 0 {
		t.Fatalf("exchange %+v", ex)
	}
}

func TestDynamicMetadata(t *testing.T) {
	s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		out, _ := continueAll(req)
		switch {
		case req.GetRequestHeaders() != nil:
			out[0].DynamicMetadata = metadata(t, "semproc", map[string]any{"route": "math", "cache_status": "Miss"})
		case req.GetResponseHeaders() != nil:
			md := metadata(t, "semproc", map[string]any{"cache_status": "Hit"})
			md.Fields["other"] = metadata(t, "other", map[string]any{"x": 1}).Fields["other"]
			out[0].DynamicMetadata = md
		}
		return out, nil
	}
	var calls atomic.Int32
	h := newHarness(t, ShippedFilter(), s, echoUpstream(&calls))
	post(t, h.url, `{}`)
	md := h.lastExchange(t).DynamicMetadata
	if len(md) != 1 || md["semproc"].GetFields()["route"].GetStringValue() != "math" ||
		md["semproc"].GetFields()["cache_status"].GetStringValue() != "Hit" {
		t.Fatalf("metadata %v", md)
	}
}

func TestBufferLimit(t *testing.T) {
	big := strings.Repeat("y", 64)
	tests := []struct {
		name, reqBody, respBody string
		wantStatus              int
		wantCalls               int32
	}{
		{"request over the limit", big, "ok", 413, 0},
		{"response over the limit", "{}", big, 500, 1},
		{"both within", "{}", "ok", 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				_, _ = io.WriteString(w, tt.respBody)
			})
			h := newHarness(t, ShippedFilter(), continueAll, upstream, func(o *Options) { o.BufferLimit = 32 })
			resp, _ := post(t, h.url, tt.reqBody)
			if resp.StatusCode != tt.wantStatus || calls.Load() != tt.wantCalls {
				t.Fatalf("status %d calls %d", resp.StatusCode, calls.Load())
			}
		})
	}
}
