package envoysim

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// echoUpstream answers with the request body and counts its calls.
func echoUpstream(calls *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream-Path", r.URL.Path)
		_, _ = w.Write([]byte(`{"echo":` + strconv.Quote(string(b)) + `}`))
	})
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestProxyJSONPassThrough(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, ShippedFilter(), continueAll, echoUpstream(&calls))
	resp, body := post(t, h.url, `{"model":"m"}`)
	if resp.StatusCode != 200 || body != `{"echo":"{\"model\":\"m\"}"}` {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	ex := h.lastExchange(t)
	want := []string{"request_headers", `request_body({"model":"m"}) eos`, "response_headers", `response_body({"echo":"{\"model\":\"m\"}"}) eos`}
	if got := kinds(ex.Sent()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
	for i, m := range ex.Sent() {
		if (m.GetProtocolConfig() != nil) != (i == 0) {
			t.Errorf("message %d: protocol_config present = %v", i, m.GetProtocolConfig() != nil)
		}
	}
	pc := ex.Sent()[0].GetProtocolConfig()
	if pc.GetRequestBodyMode().String() != "BUFFERED" || pc.GetResponseBodyMode().String() != "BUFFERED" {
		t.Errorf("protocol_config %v", pc)
	}
	hm := ex.Sent()[0].GetRequestHeaders().GetHeaders()
	for key, want := range map[string]string{":method": "POST", ":path": "/v1/chat/completions", ":scheme": "http", "content-type": "application/json", "content-length": "13"} {
		if got, _ := headerValue(hm, key); got != want {
			t.Errorf("request header %s = %q, want %q", key, got, want)
		}
	}
	if v, _ := headerValue(ex.Sent()[2].GetResponseHeaders().GetHeaders(), ":status"); v != "200" {
		t.Errorf(":status = %q", v)
	}
	for _, hv := range hm.GetHeaders() {
		if hv.GetValue() != "" {
			t.Errorf("header %s sent in value, want raw_value only", hv.GetKey())
		}
	}
	if calls.Load() != 1 || string(ex.UpstreamBody) != `{"model":"m"}` || ex.Status != 200 || ex.FailedOpen != "" {
		t.Errorf("exchange %+v", ex)
	}
}

// rewriteBody replaces the request body, setting content-length to cl
// (or leaving it alone when cl is empty).
func rewriteBody(newBody, cl string) script {
	return func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		if req.GetRequestBody() == nil {
			return continueAll(req)
		}
		cr := &extprocv3.CommonResponse{BodyMutation: bodyMutation(newBody)}
		if cl != "" {
			cr.HeaderMutation = setHeaders(setRaw("content-length", cl))
		}
		return []*extprocv3.ProcessingResponse{reply(req, cr)}, nil
	}
}

func TestProxyBodyRewriteContentLength(t *testing.T) {
	const newBody = `{"model":"routed-model"}`
	tests := []struct {
		name       string
		cl         string
		wantStatus int
		wantCalls  int32
	}{
		{"content-length set to the new size", strconv.Itoa(len(newBody)), 200, 1},
		{"content-length left at the old size", "", 500, 0},
		{"content-length set wrong", "3", 500, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			h := newHarness(t, ShippedFilter(), rewriteBody(newBody, tt.cl), echoUpstream(&calls))
			resp, _ := post(t, h.url, `{"model":"m"}`)
			ex := h.lastExchange(t)
			if resp.StatusCode != tt.wantStatus || calls.Load() != tt.wantCalls {
				t.Fatalf("status %d calls %d, want %d %d (%s)", resp.StatusCode, calls.Load(), tt.wantStatus, tt.wantCalls, ex.Error)
			}
			if tt.wantCalls == 0 {
				if ex.UpstreamURL != nil || ex.Error == "" {
					t.Errorf("upstream %v error %q", ex.UpstreamURL, ex.Error)
				}
				return
			}
			if string(ex.UpstreamBody) != newBody || ex.UpstreamHeaders.Get("Content-Length") != tt.cl {
				t.Errorf("upstream got %q with content-length %q", ex.UpstreamBody, ex.UpstreamHeaders.Get("Content-Length"))
			}
		})
	}
}

// TestProxySSEStreamed checks a response switched to STREAMED by
// mode_override reaches the client event by event: the upstream sends the
// next event only once the client has read the previous one.
func TestProxySSEStreamed(t *testing.T) {
	events := []string{"data: {\"n\":1}\n\n", "data: {\"n\":2}\n\n", "data: [DONE]\n\n"}
	read := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			_, _ = io.WriteString(w, e)
			w.(http.Flusher).Flush()
			select {
			case <-read:
			case <-r.Context().Done():
				return
			}
		}
	})
	s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		out, _ := continueAll(req)
		if req.GetResponseHeaders() != nil {
			out[0].ModeOverride = &filterv3.ProcessingMode{ResponseBodyMode: filterv3.ProcessingMode_STREAMED}
		}
		return out, nil
	}
	h := newHarness(t, ShippedFilter(), s, upstream)
	resp, err := http.Post(h.url+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for _, e := range events {
		var got string
		for !strings.HasSuffix(got, "\n\n") {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading %q: %v", e, err)
			}
			got += line
		}
		if got != e {
			t.Fatalf("event %q, want %q", got, e)
		}
		read <- struct{}{}
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("trailing %q", rest)
	}
	ex := h.lastExchange(t)
	var bodies []string
	for _, m := range ex.Sent() {
		if b := m.GetResponseBody(); b != nil {
			bodies = append(bodies, kind(m))
		}
	}
	want := []string{"response_body(" + events[0] + ")", "response_body(" + events[1] + ")", "response_body(" + events[2] + ")", "response_body() eos"}
	if fmt.Sprint(bodies) != fmt.Sprint(want) {
		t.Fatalf("response bodies %q, want %q", bodies, want)
	}
}

func TestProxyImmediateResponse(t *testing.T) {
	var calls atomic.Int32
	s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		r := immediate(429, "slow down", setHeaders(setRaw("x-cache-status", "Hit")))
		r.DynamicMetadata = metadata(t, "semproc", map[string]any{"cache_status": "Hit"})
		return []*extprocv3.ProcessingResponse{r}, nil
	}
	h := newHarness(t, ShippedFilter(), s, echoUpstream(&calls))
	resp, body := post(t, h.url, `{}`)
	if resp.StatusCode != 429 || body != "slow down" || resp.Header.Get("X-Cache-Status") != "Hit" ||
		resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("Content-Length") != "9" {
		t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}
	ex := h.lastExchange(t)
	if calls.Load() != 0 || ex.UpstreamURL != nil || ex.Status != 429 {
		t.Fatalf("upstream called: %d %v", calls.Load(), ex.UpstreamURL)
	}
	if got := ex.DynamicMetadata["semproc"].GetFields()["cache_status"].GetStringValue(); got != "Hit" {
		t.Errorf("metadata %v", ex.DynamicMetadata)
	}
}

func TestProxyCrashingProcessor(t *testing.T) {
	crash := func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return nil, status.Error(codes.Internal, "boom")
	}
	for _, failOpen := range []bool{true, false} {
		t.Run(fmt.Sprint("failure_mode_allow=", failOpen), func(t *testing.T) {
			var calls atomic.Int32
			f := ShippedFilter()
			f.FailureModeAllow = failOpen
			h := newHarness(t, f, crash, echoUpstream(&calls))
			resp, body := post(t, h.url, `{"a":1}`)
			ex := h.lastExchange(t)
			if failOpen {
				if resp.StatusCode != 200 || body != `{"echo":"{\"a\":1}"}` || ex.FailedOpen != FailOpenStreamError {
					t.Fatalf("got %d %q failed open %q", resp.StatusCode, body, ex.FailedOpen)
				}
				return
			}
			if resp.StatusCode != 500 || calls.Load() != 0 || ex.FailedOpen != "" {
				t.Fatalf("got %d, %d calls, failed open %q", resp.StatusCode, calls.Load(), ex.FailedOpen)
			}
		})
	}
}

// TestProxyStreamedEndForms checks both ways a streamed body may end reach
// the processor, and the client gets the whole body either way.
func TestProxyStreamedEndForms(t *testing.T) {
	events := []string{"data: 1\n\n", "data: 2\n\n", "data: [DONE]\n\n"}
	for _, form := range []EndOfStream{EndEmptyChunk, EndLastChunk} {
		t.Run(fmt.Sprint("form=", form), func(t *testing.T) {
			firstChunk := make(chan struct{})
			var once atomic.Bool
			upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				// A known length lets EndLastChunk flag the last chunk as it
				// comes, instead of waiting for the next read.
				w.Header().Set("Content-Length", strconv.Itoa(len(strings.Join(events, ""))))
				for i, e := range events {
					_, _ = io.WriteString(w, e)
					w.(http.Flusher).Flush()
					if i == 0 {
						// Hold the rest until a chunk reached the processor, so
						// the body is not complete before the headers reply.
						<-firstChunk
					}
				}
			})
			s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				if req.GetResponseBody() != nil && once.CompareAndSwap(false, true) {
					close(firstChunk)
				}
				return continueAll(req)
			}
			f := ShippedFilter()
			f.ProcessingMode.ResponseBodyMode = filterv3.ProcessingMode_STREAMED
			h := newHarness(t, f, s, upstream, func(o *Options) { o.EndOfStream = form })
			resp, body := post(t, h.url, `{}`)
			if resp.StatusCode != 200 || body != strings.Join(events, "") {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			var chunks []*extprocv3.HttpBody
			var sent string
			for _, m := range h.lastExchange(t).Sent() {
				if b := m.GetResponseBody(); b != nil {
					chunks = append(chunks, b)
					sent += string(b.GetBody())
				}
			}
			last := chunks[len(chunks)-1]
			for _, c := range chunks[:len(chunks)-1] {
				if c.GetEndOfStream() {
					t.Fatal("end_of_stream before the last chunk")
				}
			}
			wantEmpty := form == EndEmptyChunk
			if sent != body || !last.GetEndOfStream() || (len(last.GetBody()) == 0) != wantEmpty {
				t.Fatalf("chunks sent %q, last %q eos=%v", sent, last.GetBody(), last.GetEndOfStream())
			}
		})
	}
}

func TestProxyHostRewriteAndForget(t *testing.T) {
	tests := []struct {
		name         string
		opts         func(*Options)
		upstreamHost bool // Host is the upstream's, not the client's
		records      int
	}{
		{"defaults", func(*Options) {}, false, 1},
		{"auto_host_rewrite", func(o *Options) { o.HostRewrite = true }, true, 1},
		{"forget", func(o *Options) { o.Forget = true }, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var host atomic.Value
			up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				host.Store(r.Host)
				_, _ = io.WriteString(w, "{}")
			})
			h := newHarness(t, ShippedFilter(), continueAll, up, tt.opts)
			if resp, _ := post(t, h.url, `{"model":"m"}`); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			want := strings.TrimPrefix(h.url, "http://")
			if tt.upstreamHost {
				want = strings.TrimPrefix(h.upstream.URL, "http://")
			}
			if got := host.Load(); got != want {
				t.Errorf("upstream Host %q, want %q", got, want)
			}
			if got := len(h.proxy.Exchanges()); got != tt.records {
				t.Errorf("%d exchanges recorded, want %d", got, tt.records)
			}
		})
	}
}
