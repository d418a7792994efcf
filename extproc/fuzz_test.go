package extproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/semproc/semproc/semantic"
)

// FuzzProcessSequence drives the real Server over an in-memory gRPC
// connection with message sequences decoded from the input: any message
// type in any order, duplicates, bodies cut at random points, every body
// mode, and the client cancelling at any point. Envoy never sends most of
// these sequences; semproc must still keep the invariants Envoy depends on
// (see checkExchange) and never hang or leak a goroutine.
//
// Run it with: go test ./extproc -run '^$' -fuzz FuzzProcessSequence -parallel 1
func FuzzProcessSequence(f *testing.F) {
	for _, seed := range [][]byte{
		{0x02, 0, 0x00, 0xa1, 0xa1, 0x02, 0x0c, 0x2d, 0x06},             // BUFFERED miss, stored
		{0x02, 1, 0x00, 0x02},                                           // BUFFERED hit
		{0x24, 2, 0x00, 0x49, 0x49, 0x02, 0x03, 0x0c, 0x2d, 0x2d, 0x06}, // FULL_DUPLEX request and response
		{0x01, 2, 0x00, 0x09, 0x09, 0x02, 0x0c, 0x06},                   // STREAMED request body
		{0x43, 3, 0x00, 0x19, 0x07},                                     // routing on, cancelled mid-body
		{0x84, 4, 0x00, 0x09, 0x03, 0x0c},                               // no-store, duplex, trailers end the body
		{0x02, 5, 0x00, 0x02, 0x04, 0x06},                               // a body that panics the format
		{0x02, 6, 0x00, 0x0c},                                           // not handled: one round trip
		{0x24, 1, 0x00, 0x02, 0x00, 0x02, 0x04},                         // duplex hit, then messages after it
		{0x00, 0, 0x04, 0x00, 0x01, 0x03, 0x02},                         // out of order
	} {
		f.Add(seed)
	}
	h := newFuzzHarness(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		before := runtime.NumGoroutine()
		in := decodeFuzzInput(data)
		env := newTestEnv(t, func(o *Options) {
			if in.routing {
				o.Router = fakeRouter{}
			}
		})
		seedHit(t, env)
		rec := h.run(t, env.srv, in)
		if err := env.srv.WaitForWrites(context.Background()); err != nil {
			t.Fatal(err)
		}
		checkExchange(t, in, rec)
		waitForGoroutines(t, before)
	})
}

// fuzzInput is a decoded fuzz input: the stream's configuration and the
// messages the client sends, in order.
type fuzzInput struct {
	requestMode, responseMode filterv3.ProcessingMode_BodySendMode
	routing, noStore          bool
	msgs                      []*extprocv3.ProcessingRequest
	// cancelAt is the number of messages sent before the client cancels;
	// -1 for a stream the client half-closes.
	cancelAt int
}

var fuzzBodies = []string{
	`{"model":"m","prompt":"capital of france"}`,
	`{"model":"m","prompt":"hit me"}`,
	`{"model":"auto","prompt":"a math question"}`,
	`{"model":"m","prompt":`, // truncated JSON
	`{"model":"m","prompt":"x","panic":true}`,
	`{"model":"m","prompt":"stream","stream":true}`,
	``, // GET of an unhandled path
}

const fuzzResponse = `{"ok":true,"answer":"a long enough answer to be cut in several chunks"}`

func decodeFuzzInput(data []byte) fuzzInput {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	cfg := next()
	in := fuzzInput{
		requestMode:  filterv3.ProcessingMode_BodySendMode(cfg & 7 % 5),
		responseMode: filterv3.ProcessingMode_BodySendMode(cfg >> 3 & 7 % 5),
		routing:      cfg&0x40 != 0,
		noStore:      cfg&0x80 != 0,
		cancelAt:     -1,
	}
	choice := int(next()) % len(fuzzBodies)
	body, resp := []byte(fuzzBodies[choice]), []byte(fuzzResponse)
	headers := []string{"authorization", "Bearer a"}
	if in.noStore {
		headers = append(headers, "cache-control", "no-store")
	}
	method, path := "POST", "/v1/chat/completions"
	if choice == len(fuzzBodies)-1 {
		method, path = "GET", "/v1/models"
	}
	for len(data) > 0 && len(in.msgs) < 64 {
		op := next()
		arg := int(op >> 3)
		var m *extprocv3.ProcessingRequest
		switch op & 7 {
		case 0:
			m = &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
				Headers: hdrs(append([]string{":method", method, ":path", path}, headers...)...), EndOfStream: arg&1 != 0,
			}}}
		case 1, 2:
			n := len(body)
			if op&7 == 1 {
				n = min(arg, n)
			}
			m = reqBody(string(body[:n]), op&7 == 2)
			body = body[n:]
		case 3:
			m = &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: &extprocv3.HttpTrailers{}}}
		case 4:
			status, ct := "200", "application/json"
			if arg&1 != 0 {
				status = "500"
			}
			if arg&2 != 0 {
				ct = "text/event-stream"
			}
			m = respHeaders(":status", status, "content-type", ct)
		case 5, 6:
			n := len(resp)
			if op&7 == 5 {
				n = min(arg, n)
			}
			m = respBody(string(resp[:n]), op&7 == 6)
			resp = resp[n:]
		case 7:
			in.cancelAt = len(in.msgs)
			return in
		}
		in.msgs = append(in.msgs, m)
	}
	return in
}

// seedHit stores an answer to "hit me", so inputs reach the hit path.
func seedHit(t *testing.T, e *testEnv) {
	ctx := context.Background()
	r := e.srv.o.Cache.Get(ctx, semantic.Lookup{
		Request: &semantic.Request{API: "test", Model: "m", Window: "hit me", RouteText: "hit me", Fingerprint: "fp"},
		Scope:   semantic.Scope([]string{"authorization", "Bearer a"}),
	})
	if err := e.srv.o.Cache.Store(ctx, r, semantic.Completion{Record: []byte(`{"ok":true}`), Usage: semantic.Usage{OutputTokens: 1}}, 0); err != nil {
		t.Fatal(err)
	}
}

// exchangeRecord is what the server received and sent on one stream, seen
// from inside the gRPC server: replies[i] are the replies sent after
// message i was received and before the next one was asked for.
type exchangeRecord struct {
	mu        sync.Mutex
	msgs      []*extprocv3.ProcessingRequest
	replies   [][]*extprocv3.ProcessingResponse
	received  int // replies the client read
	handlers  sync.WaitGroup
	clientErr error
}

// fuzzHarness is one gRPC server on a bufconn listener, shared by every
// input. Each stream names its input in its metadata, so a stream the
// client cancelled before the server saw it cannot run against a later
// input's Server.
type fuzzHarness struct {
	mu     sync.Mutex
	next   int
	runs   map[string]fuzzRun
	client extprocv3.ExternalProcessorClient
}

type fuzzRun struct {
	id  string
	srv *Server
	rec *exchangeRecord
}

const runKey = "x-fuzz-run"

func (h *fuzzHarness) lookup(ctx context.Context) (fuzzRun, bool) {
	md, _ := grpcmd.FromIncomingContext(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range md.Get(runKey) {
		r, ok := h.runs[id]
		return r, ok
	}
	return fuzzRun{}, false
}

// claim marks the run's stream as started on the server; end reports
// whether it was, once the run is over and no late stream can claim it.
func (h *fuzzHarness) claim(ctx context.Context) (fuzzRun, bool) {
	r, ok := h.lookup(ctx)
	if ok {
		h.mu.Lock()
		if _, still := h.runs[r.id]; still {
			r.rec.handlers.Add(1)
		} else {
			ok = false
		}
		h.mu.Unlock()
	}
	return r, ok
}

type delegate struct {
	extprocv3.UnimplementedExternalProcessorServer
	h *fuzzHarness
}

func (d delegate) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	r, ok := d.h.lookup(s.Context())
	if !ok {
		return nil // the warm-up stream, or one whose input is over
	}
	return r.srv.Process(s)
}

func newFuzzHarness(f *testing.F) *fuzzHarness {
	h := &fuzzHarness{runs: map[string]fuzzRun{}}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(grpc.StreamInterceptor(h.record))
	extprocv3.RegisterExternalProcessorServer(gs, delegate{h: h})
	go func() { _ = gs.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		_ = conn.Close()
		gs.Stop()
	})
	h.client = extprocv3.NewExternalProcessorClient(conn)
	// Warm the connection up, so its goroutines are there before the
	// first input counts them.
	st, err := h.client.Process(context.Background())
	if err == nil {
		_ = st.CloseSend()
		_, _ = st.Recv()
	}
	return h
}

// record wraps the server side of each stream to log what went through it.
func (h *fuzzHarness) record(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	r, ok := h.claim(ss.Context())
	if !ok {
		return handler(srv, ss)
	}
	defer r.rec.handlers.Done()
	return handler(srv, &recordingStream{ServerStream: ss, rec: r.rec})
}

type recordingStream struct {
	grpc.ServerStream
	rec *exchangeRecord
}

func (s *recordingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.msgs = append(s.rec.msgs, proto.Clone(m.(proto.Message)).(*extprocv3.ProcessingRequest))
	s.rec.replies = append(s.rec.replies, nil)
	return nil
}

func (s *recordingStream) SendMsg(m any) error {
	s.rec.mu.Lock()
	if n := len(s.rec.replies); n > 0 {
		s.rec.replies[n-1] = append(s.rec.replies[n-1], proto.Clone(m.(proto.Message)).(*extprocv3.ProcessingResponse))
	} else {
		s.rec.replies = append(s.rec.replies, []*extprocv3.ProcessingResponse{m.(*extprocv3.ProcessingResponse)})
	}
	s.rec.mu.Unlock()
	return s.ServerStream.SendMsg(m)
}

// run sends the input's messages without waiting for replies (as Envoy
// does in the streamed modes), reads every reply, and returns once the
// stream has ended.
func (h *fuzzHarness) run(t *testing.T, srv *Server, in fuzzInput) *exchangeRecord {
	rec := &exchangeRecord{}
	h.mu.Lock()
	h.next++
	id := strconv.Itoa(h.next)
	h.runs[id] = fuzzRun{id: id, srv: srv, rec: rec}
	h.mu.Unlock()
	ctx, cancel := context.WithCancel(grpcmd.AppendToOutgoingContext(context.Background(), runKey, id))
	defer cancel()
	stream, err := h.client.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := stream.Recv(); err != nil {
				rec.mu.Lock()
				rec.clientErr = err
				rec.mu.Unlock()
				return
			}
			rec.mu.Lock()
			rec.received++
			rec.mu.Unlock()
		}
	}()
	for i, m := range in.msgs {
		if i == in.cancelAt {
			break
		}
		if i == 0 {
			m.ProtocolConfig = &extprocv3.ProtocolConfiguration{RequestBodyMode: in.requestMode, ResponseBodyMode: in.responseMode}
		}
		if stream.Send(m) != nil {
			break // the server ended the stream; Recv tells why
		}
	}
	if in.cancelAt >= 0 {
		cancel()
	} else {
		_ = stream.CloseSend()
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the stream did not end: %d messages received by the server", len(rec.msgs))
	}
	// A cancelled stream ends on the client first: wait for the server's
	// side, if it started, before reading what it did.
	h.mu.Lock()
	delete(h.runs, id)
	h.mu.Unlock()
	ended := make(chan struct{})
	go func() { rec.handlers.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("the server side of the stream did not end:\n%s", buf[:runtime.Stack(buf, true)])
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if in.cancelAt < 0 && !errors.Is(rec.clientErr, io.EOF) {
		t.Fatalf("stream ended with %v, want a clean end", rec.clientErr)
	}
	return rec
}

type replyKind int

const (
	kindRequestHeaders replyKind = iota
	kindRequestBody
	kindRequestTrailers
	kindResponseHeaders
	kindResponseBody
	kindResponseTrailers
	kindImmediate
)

func messageKind(m *extprocv3.ProcessingRequest) replyKind {
	switch m.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return kindRequestHeaders
	case *extprocv3.ProcessingRequest_RequestBody:
		return kindRequestBody
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return kindRequestTrailers
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return kindResponseHeaders
	case *extprocv3.ProcessingRequest_ResponseBody:
		return kindResponseBody
	default:
		return kindResponseTrailers
	}
}

func replyKindOf(r *extprocv3.ProcessingResponse) (replyKind, error) {
	switch r.Response.(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		return kindRequestHeaders, nil
	case *extprocv3.ProcessingResponse_RequestBody:
		return kindRequestBody, nil
	case *extprocv3.ProcessingResponse_RequestTrailers:
		return kindRequestTrailers, nil
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		return kindResponseHeaders, nil
	case *extprocv3.ProcessingResponse_ResponseBody:
		return kindResponseBody, nil
	case *extprocv3.ProcessingResponse_ResponseTrailers:
		return kindResponseTrailers, nil
	case *extprocv3.ProcessingResponse_ImmediateResponse:
		return kindImmediate, nil
	}
	return 0, fmt.Errorf("empty reply %v", r)
}

// checkExchange asserts what Envoy depends on:
//   - exactly one reply of the matching type for each message Envoy waits
//     for, in order; in FULL_DUPLEX_STREAMED only the request headers
//     reply may be held back, until the body has ended, and it comes before
//     any body reply;
//   - mode_override only in replies to headers;
//   - nothing after an ImmediateResponse;
//   - every request and response body byte forwarded exactly once: in the
//     streamed_response chunks of FULL_DUPLEX_STREAMED, or untouched by the
//     other modes' replies unless the whole buffered body is replaced by a
//     routed copy of itself.
func checkExchange(t *testing.T, in fuzzInput, rec *exchangeRecord) {
	t.Helper()
	defer func() {
		if t.Failed() {
			for i, m := range rec.msgs {
				t.Logf("message %d: %v\n  replies: %v", i, m, rec.replies[i])
			}
		}
	}()
	reqDuplex := in.requestMode == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
	respDuplex := in.responseMode == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
	var (
		owed                     []replyKind
		immediate, bodyEnded     bool
		started, headersAnswered bool
		reqSent, reqForwarded    []byte
		respSent, respForwarded  []byte
		reqChunksReplied         int
		bounds                   []int // cumulative request body lengths, for routed rewrites
		total                    int
	)
	for i, m := range rec.msgs {
		kind := messageKind(m)
		replies := rec.replies[i]
		total += len(replies)
		if immediate {
			if len(replies) > 0 {
				t.Fatalf("message %d (%T): %d replies after an immediate response", i, m.Request, len(replies))
			}
			continue
		}
		switch kind {
		case kindRequestBody:
			reqSent = append(reqSent, m.GetRequestBody().GetBody()...)
			bounds = append(bounds, len(reqSent))
			if m.GetRequestBody().GetEndOfStream() {
				bodyEnded = true
			}
			if !reqDuplex {
				owed = append(owed, kind)
			}
		case kindResponseBody:
			respSent = append(respSent, m.GetResponseBody().GetBody()...)
			if !respDuplex {
				owed = append(owed, kind)
			}
		default:
			if kind == kindRequestTrailers {
				bodyEnded = true
			}
			if kind == kindRequestHeaders && !started {
				// Body chunks sent before the headers (impossible from
				// Envoy) are not part of the request semproc collects.
				started = true
				reqSent, reqForwarded, bounds, reqChunksReplied, bodyEnded = nil, nil, nil, 0, false
			}
			owed = append(owed, kind)
		}
		for j, r := range replies {
			rk, err := replyKindOf(r)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if r.ModeOverride != nil && rk != kindRequestHeaders && rk != kindResponseHeaders {
				t.Fatalf("message %d: mode_override in a %v reply", i, rk)
			}
			if rk == kindImmediate {
				if j != len(replies)-1 {
					t.Fatalf("message %d: replies after an immediate response", i)
				}
				immediate, owed = true, nil
				break
			}
			streamed := false
			switch rk {
			case kindRequestBody:
				if sr := r.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse(); sr != nil {
					if !reqDuplex {
						t.Fatalf("message %d: streamed_response outside FULL_DUPLEX_STREAMED", i)
					}
					if started && !headersAnswered {
						t.Fatalf("message %d: a request body reply before the held headers reply", i)
					}
					reqForwarded = append(reqForwarded, sr.GetBody()...)
					streamed = true
				} else if reqDuplex {
					t.Fatalf("message %d: FULL_DUPLEX_STREAMED body reply without streamed_response: %v", i, r)
				} else if bm := r.GetRequestBody().GetResponse().GetBodyMutation(); bm != nil {
					checkBufferedRewrite(t, i, reqChunksReplied, m, r, reqSent)
				}
			case kindResponseBody:
				if sr := r.GetResponseBody().GetResponse().GetBodyMutation().GetStreamedResponse(); sr != nil {
					if !respDuplex {
						t.Fatalf("message %d: streamed_response outside FULL_DUPLEX_STREAMED", i)
					}
					respForwarded = append(respForwarded, sr.GetBody()...)
					streamed = true
				} else if r.GetResponseBody().GetResponse().GetBodyMutation() != nil {
					t.Fatalf("message %d: the response body was changed: %v", i, r)
				} else if respDuplex {
					t.Fatalf("message %d: FULL_DUPLEX_STREAMED body reply without streamed_response", i)
				}
			}
			if streamed && !(len(owed) > 0 && owed[0] == rk) {
				continue // streamed chunks are not owed one to one
			}
			if len(owed) == 0 || owed[0] != rk {
				t.Fatalf("message %d (%T): got a %v reply, Envoy waits for %v", i, m.Request, rk, owed)
			}
			owed = owed[1:]
			headersAnswered = headersAnswered || rk == kindRequestHeaders
			if rk == kindRequestBody {
				reqChunksReplied++
			}
		}
		heldOK := reqDuplex && !bodyEnded && len(owed) == 1 && owed[0] == kindRequestHeaders
		// The client's cancel may cut the replies to the last message.
		cut := in.cancelAt >= 0 && i == len(rec.msgs)-1
		if len(owed) > 0 && !heldOK && !cut {
			t.Fatalf("message %d (%T): no reply for %v", i, m.Request, owed)
		}
	}
	if in.cancelAt < 0 && rec.received != total {
		t.Fatalf("the client read %d replies, the server sent %d", rec.received, total)
	}
	if !bytes.HasPrefix(respSent, respForwarded) {
		t.Fatalf("response bytes forwarded %q are not the bytes sent %q", respForwarded, respSent)
	}
	if immediate || !reqDuplex {
		return
	}
	complete := bodyEnded && in.cancelAt < 0
	if !forwardedOnce(reqSent, reqForwarded, bounds, in.routing, complete) {
		t.Fatalf("request bytes forwarded %q, sent %q (complete %v)", reqForwarded, reqSent, complete)
	}
}

// forwardedOnce says whether forwarded is sent (or, for a stream that did
// not finish, a prefix of it), allowing for a routed rewrite of the body
// collected up to one of the chunk bounds.
func forwardedOnce(sent, forwarded []byte, bounds []int, routing, complete bool) bool {
	match := func(want []byte) bool {
		if complete {
			return bytes.Equal(want, forwarded)
		}
		return bytes.HasPrefix(want, forwarded)
	}
	if match(sent) {
		return true
	}
	if !routing {
		return false
	}
	for _, k := range bounds {
		for _, model := range []string{"big-model", "small-model"} {
			if b, err := (testFormat{}).SetModel(sent[:k], model); err == nil && match(append(b, sent[k:]...)) {
				return true
			}
		}
	}
	return false
}

// checkBufferedRewrite allows a body mutation only where Envoy applies it
// whole: the reply to the only request body message, replacing the body
// with a routed copy of it and content-length set to match.
func checkBufferedRewrite(t *testing.T, i, replied int, m *extprocv3.ProcessingRequest, r *extprocv3.ProcessingResponse, sent []byte) {
	t.Helper()
	c := r.GetRequestBody().GetResponse()
	if replied > 0 || !m.GetRequestBody().GetEndOfStream() {
		t.Fatalf("message %d: body rewritten after earlier chunks were let through", i)
	}
	b := c.GetBodyMutation().GetBody()
	ok := false
	for _, model := range []string{"big-model", "small-model"} {
		if want, err := (testFormat{}).SetModel(sent, model); err == nil && bytes.Equal(want, b) {
			ok = true
		}
	}
	if !ok {
		t.Fatalf("message %d: body %q is not a routed copy of %q", i, b, sent)
	}
	if setHeaders(c.GetHeaderMutation())["content-length"] != strconv.Itoa(len(b)) {
		t.Fatalf("message %d: rewritten body without a matching content-length: %v", i, c.GetHeaderMutation())
	}
}

// waitForGoroutines fails when goroutines started by the input outlive
// it: gRPC needs a moment to retire a finished stream's.
func waitForGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left behind:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}
