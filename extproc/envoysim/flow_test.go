package envoysim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

// recSink records what one direction lets through.
type recSink struct {
	h        *headerMap
	begun    chan struct{}
	body     bytes.Buffer
	trailers *headerMap
	finished bool
}

var _ sink = (*recSink)(nil)

func newRecSink() *recSink { return &recSink{begun: make(chan struct{})} }

func (r *recSink) start(h *headerMap, _ bool) error {
	r.h = h.clone()
	close(r.begun)
	return nil
}

func (r *recSink) started() bool {
	select {
	case <-r.begun:
		return true
	default:
		return false
	}
}

func (r *recSink) write(p []byte) error { r.body.Write(p); return nil }

func (r *recSink) finish(t *headerMap) error {
	r.trailers, r.finished = t, true
	return nil
}

// flowRun drives one request direction through a session, frame by frame.
type flowRun struct {
	frames chan frame
	sink   *recSink
	ex     *Exchange
	done   chan error
}

func streamedFilter(mode filterv3.ProcessingMode_BodySendMode, trailers filterv3.ProcessingMode_HeaderSendMode) *filterv3.ExternalProcessor {
	return &filterv3.ExternalProcessor{
		ProcessingMode: &filterv3.ProcessingMode{
			RequestBodyMode:    mode,
			RequestTrailerMode: trailers,
			ResponseHeaderMode: filterv3.ProcessingMode_SKIP,
		},
		MessageTimeout: durationpb.New(10 * time.Second),
	}
}

func startFlow(t *testing.T, filter *filterv3.ExternalProcessor, s script) *flowRun {
	t.Helper()
	p, err := New(Options{Filter: filter, Client: startProcessor(t, s), Upstream: func(http.Header) *url.URL { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	fr := &flowRun{frames: make(chan frame), sink: newRecSink(), ex: &Exchange{}, done: make(chan error, 1)}
	sess := newSession(context.Background(), p, fr.ex)
	h := startHeaders()
	h.add("content-length", "2")
	go func() {
		err := sess.process(&sess.req, h, fr.frames, fr.sink)
		sess.end()
		fr.done <- err
	}()
	return fr
}

func (fr *flowRun) send(frames ...frame) {
	for _, f := range frames {
		fr.frames <- f
	}
}

func upper(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
	if b := req.GetRequestBody(); b != nil {
		return []*extprocv3.ProcessingResponse{reply(req, &extprocv3.CommonResponse{BodyMutation: bodyMutation(strings.ToUpper(string(b.GetBody())))})}, nil
	}
	return continueAll(req)
}

func TestStreamedBody(t *testing.T) {
	tr := &headerMap{entries: []header{{"x-t", "1"}}}
	tests := []struct {
		name     string
		trailers filterv3.ProcessingMode_HeaderSendMode
		frames   []frame
		want     []string
		wantBody string
	}{
		{"end as an empty chunk", filterv3.ProcessingMode_SKIP,
			[]frame{{data: []byte("ab")}, {data: []byte("cd")}, {eos: true}},
			[]string{"request_headers", "request_body(ab)", "request_body(cd)", "request_body() eos"}, "ABCD"},
		{"end on the last data chunk", filterv3.ProcessingMode_SKIP,
			[]frame{{data: []byte("ab")}, {data: []byte("cd"), eos: true}},
			[]string{"request_headers", "request_body(ab)", "request_body(cd) eos"}, "ABCD"},
		{"trailers sent after the chunks", filterv3.ProcessingMode_SEND,
			[]frame{{data: []byte("ab")}, {trailers: tr}},
			[]string{"request_headers", "request_body(ab)", "request_trailers"}, "AB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := startFlow(t, streamedFilter(filterv3.ProcessingMode_STREAMED, tt.trailers), upper)
			<-fr.sink.begun // the headers reply is in: chunks now stream
			fr.send(tt.frames...)
			if err := <-fr.done; err != nil {
				t.Fatal(err)
			}
			if got := kinds(fr.ex.Sent()); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("messages %q, want %q", got, tt.want)
			}
			if fr.sink.body.String() != tt.wantBody || !fr.sink.finished {
				t.Fatalf("body %q finished %v", fr.sink.body.String(), fr.sink.finished)
			}
			if _, ok := fr.sink.h.get("content-length"); ok {
				t.Error("content-length kept in STREAMED mode")
			}
		})
	}
}

// TestStreamedWholeBodyWhileAwaitingHeaders: a body complete before the
// headers reply goes as one message, handled like a buffered one.
func TestStreamedWholeBodyWhileAwaitingHeaders(t *testing.T) {
	gate := make(chan struct{})
	s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		if req.GetRequestHeaders() != nil {
			<-gate
		}
		return upper(req)
	}
	fr := startFlow(t, streamedFilter(filterv3.ProcessingMode_STREAMED, filterv3.ProcessingMode_SKIP), s)
	fr.send(frame{data: []byte("ab")}, frame{data: []byte("cd")}, frame{eos: true})
	close(gate)
	if err := <-fr.done; err != nil {
		t.Fatal(err)
	}
	want := []string{"request_headers", "request_body(abcd) eos"}
	if got := kinds(fr.ex.Sent()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
	if fr.sink.body.String() != "ABCD" {
		t.Fatalf("body %q", fr.sink.body.String())
	}
}

func streamedReply(req *extprocv3.ProcessingRequest, body string, eos bool) *extprocv3.ProcessingResponse {
	return reply(req, &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{
		StreamedResponse: &extprocv3.StreamedBodyResponse{Body: []byte(body), EndOfStream: eos}}}})
}

// duplexHoldingHeaders holds the headers reply until the body's end, as
// semproc does, then answers with the headers and the new body in pieces.
func duplexHoldingHeaders(headersReq **extprocv3.ProcessingRequest) script {
	return func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		switch {
		case req.GetRequestHeaders() != nil:
			*headersReq = req
			return nil, nil
		case req.GetRequestBody() != nil && !req.GetRequestBody().GetEndOfStream():
			return nil, nil
		}
		hr, _ := continueAll(*headersReq)
		return append(hr, streamedReply(req, "NEW-", false), streamedReply(req, "BODY", true)), nil
	}
}

func TestFullDuplex(t *testing.T) {
	var headersReq *extprocv3.ProcessingRequest
	f := streamedFilter(filterv3.ProcessingMode_FULL_DUPLEX_STREAMED, filterv3.ProcessingMode_SEND)
	// No message timer runs in this mode: a 1ns one would fire at once.
	f.MessageTimeout = durationpb.New(time.Nanosecond)
	fr := startFlow(t, f, duplexHoldingHeaders(&headersReq))
	fr.send(frame{data: []byte("ab")}, frame{data: []byte("cd")}, frame{eos: true})
	if err := <-fr.done; err != nil {
		t.Fatal(err)
	}
	want := []string{"request_headers", "request_body(ab)", "request_body(cd)", "request_body() eos"}
	if got := kinds(fr.ex.Sent()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
	if fr.sink.body.String() != "NEW-BODY" || fr.ex.FailedOpen != "" {
		t.Fatalf("body %q, failed open %q", fr.sink.body.String(), fr.ex.FailedOpen)
	}
	if _, ok := fr.sink.h.get("content-length"); ok {
		t.Error("content-length kept in FULL_DUPLEX_STREAMED mode")
	}
}

func TestFullDuplexBodyReplyBeforeHeadersReply(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprint("failure_mode_allow=", failOpen), func(t *testing.T) {
			s := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				if req.GetRequestBody() != nil {
					return []*extprocv3.ProcessingResponse{streamedReply(req, "X", true)}, nil
				}
				return nil, nil
			}
			f := streamedFilter(filterv3.ProcessingMode_FULL_DUPLEX_STREAMED, filterv3.ProcessingMode_SEND)
			f.FailureModeAllow = failOpen
			fr := startFlow(t, f, s)
			fr.send(frame{data: []byte("ab"), eos: true})
			err := <-fr.done
			// Body data went to the processor: fail-open no longer applies.
			var lr *localReply
			if !errors.As(err, &lr) || lr.status != 500 {
				t.Fatalf("err = %v, want a 500 local reply", err)
			}
		})
	}
}

func TestNewRejectsConfig(t *testing.T) {
	client := startProcessor(t, continueAll)
	up := func(http.Header) *url.URL { return nil }
	tests := []struct {
		name string
		pm   *filterv3.ProcessingMode
	}{
		{"duplex request without trailers", &filterv3.ProcessingMode{RequestBodyMode: filterv3.ProcessingMode_FULL_DUPLEX_STREAMED}},
		{"duplex response without trailers", &filterv3.ProcessingMode{ResponseBodyMode: filterv3.ProcessingMode_FULL_DUPLEX_STREAMED, ResponseTrailerMode: filterv3.ProcessingMode_SKIP}},
		{"buffered partial", &filterv3.ProcessingMode{RequestBodyMode: filterv3.ProcessingMode_BUFFERED_PARTIAL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(Options{Filter: &filterv3.ExternalProcessor{ProcessingMode: tt.pm}, Client: client, Upstream: up}); err == nil {
				t.Fatal("New accepted the config")
			}
		})
	}
	p, err := New(Options{Filter: &filterv3.ExternalProcessor{}, Client: client, Upstream: up})
	if err != nil || p.messageTimeout != 200*time.Millisecond || p.opts.BufferLimit != 1<<20 {
		t.Fatalf("defaults: %v %v %d", err, p.messageTimeout, p.opts.BufferLimit)
	}
}

// pieces is a reader returning one piece per Read, then io.EOF or err.
type pieces struct {
	p   []string
	err error
}

func (r *pieces) Read(b []byte) (int, error) {
	if len(r.p) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(b, r.p[0])
	r.p = r.p[1:]
	return n, nil
}

func TestReadFrames(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		form     EndOfStream
		length   int64
		trailers http.Header
		err      error
		want     string
	}{
		{"empty chunk end", EndEmptyChunk, -1, nil, nil, "[ab cd eos]"},
		{"last chunk, known length", EndLastChunk, 4, nil, nil, "[ab cd+eos]"},
		{"last chunk, unknown length", EndLastChunk, -1, nil, nil, "[ab cd+eos]"},
		{"trailers end the body", EndEmptyChunk, -1, http.Header{"X-T": {"1"}}, nil, "[ab cd trailers]"},
		{"trailers after a held chunk", EndLastChunk, -1, http.Header{"X-T": {"1"}}, nil, "[ab cd trailers]"},
		{"read error", EndEmptyChunk, -1, nil, boom, "[ab cd error]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := readFrames(context.Background(), &pieces{p: []string{"ab", "cd"}, err: tt.err}, tt.length, tt.form, func() http.Header { return tt.trailers })
			var got []string
			for f := range ch {
				switch {
				case f.err != nil:
					if !errors.Is(f.err, errAborted) || !errors.Is(f.err, boom) {
						t.Errorf("err %v", f.err)
					}
					got = append(got, "error")
				case f.trailers != nil:
					got = append(got, "trailers")
				case f.eos && len(f.data) > 0:
					got = append(got, string(f.data)+"+eos")
				case f.eos:
					got = append(got, "eos")
				default:
					got = append(got, string(f.data))
				}
			}
			if fmt.Sprint(got) != tt.want {
				t.Fatalf("frames %v, want %s", got, tt.want)
			}
		})
	}
}
