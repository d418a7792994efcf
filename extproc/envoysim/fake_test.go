package envoysim

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// script answers one received message with any number of replies (none
// lets the proxy's timer run out). A non-nil error ends the stream after the
// replies: errCloseStream cleanly, anything else as a gRPC error.
type script func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error)

var errCloseStream = errors.New("close stream")

// fakeProcessor is a scripted ExternalProcessor served over a real gRPC
// connection on loopback.
type fakeProcessor struct {
	extprocv3.UnimplementedExternalProcessorServer
	script script

	mu       sync.Mutex
	received []*extprocv3.ProcessingRequest
}

var _ extprocv3.ExternalProcessorServer = (*fakeProcessor)(nil)

func (f *fakeProcessor) Process(st extprocv3.ExternalProcessor_ProcessServer) error {
	for {
		req, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.received = append(f.received, req)
		f.mu.Unlock()
		replies, err := f.script(req)
		for _, r := range replies {
			if sendErr := st.Send(r); sendErr != nil {
				return sendErr
			}
		}
		if errors.Is(err, errCloseStream) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// startProcessor serves s and returns a client connected to it.
func startProcessor(t testing.TB, s script) extprocv3.ExternalProcessorClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(srv, &fakeProcessor{script: s})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return extprocv3.NewExternalProcessorClient(conn)
}

// harness is a proxy in front of an upstream, with its processor.
type harness struct {
	proxy    *Proxy
	url      string
	upstream *httptest.Server
}

func newHarness(t testing.TB, filter *filterv3.ExternalProcessor, s script, upstream http.Handler, tweak ...func(*Options)) *harness {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	base, _ := url.Parse(up.URL)
	o := Options{
		Filter:      filter,
		Client:      startProcessor(t, s),
		Upstream:    func(http.Header) *url.URL { return base },
		EndOfStream: EndEmptyChunk,
	}
	for _, f := range tweak {
		f(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	return &harness{proxy: p, url: front.URL, upstream: up}
}

// lastExchange returns the only exchange recorded.
func (h *harness) lastExchange(t *testing.T) Exchange {
	t.Helper()
	ex := h.proxy.Exchanges()
	if len(ex) != 1 {
		t.Fatalf("got %d exchanges, want 1", len(ex))
	}
	return ex[0]
}

// continueAll answers every message with a plain CONTINUE of its type.
func continueAll(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
	return []*extprocv3.ProcessingResponse{reply(req, &extprocv3.CommonResponse{})}, nil
}

// reply builds the reply matching req's type, carrying cr (or, for
// trailers, its header mutation).
func reply(req *extprocv3.ProcessingRequest, cr *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
	switch req.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_RequestBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_ResponseBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{HeaderMutation: cr.GetHeaderMutation()}}}
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{HeaderMutation: cr.GetHeaderMutation()}}}
	}
	return &extprocv3.ProcessingResponse{}
}

func setRaw(key, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: key, RawValue: []byte(value)}}
}

func appendRaw(key, value string) *corev3.HeaderValueOption {
	o := setRaw(key, value)
	o.Append = wrapperspb.Bool(true)
	return o
}

func setHeaders(opts ...*corev3.HeaderValueOption) *extprocv3.HeaderMutation {
	return &extprocv3.HeaderMutation{SetHeaders: opts}
}

func bodyMutation(b string) *extprocv3.BodyMutation {
	return &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte(b)}}
}

func immediate(status int, body string, h *extprocv3.HeaderMutation) *extprocv3.ProcessingResponse {
	ir := &extprocv3.ImmediateResponse{Body: []byte(body), Headers: h}
	if status != 0 {
		ir.Status = &typev3.HttpStatus{Code: typev3.StatusCode(status)}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: ir}}
}

func metadata(t *testing.T, ns string, fields map[string]any) *structpb.Struct {
	t.Helper()
	inner, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{ns: structpb.NewStructValue(inner)}}
}

// kind names a message's type, with its end_of_stream flag, for assertions.
func kind(m *extprocv3.ProcessingRequest) string {
	switch v := m.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return "request_headers" + eosMark(v.RequestHeaders.GetEndOfStream())
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return "response_headers" + eosMark(v.ResponseHeaders.GetEndOfStream())
	case *extprocv3.ProcessingRequest_RequestBody:
		return "request_body(" + string(v.RequestBody.GetBody()) + ")" + eosMark(v.RequestBody.GetEndOfStream())
	case *extprocv3.ProcessingRequest_ResponseBody:
		return "response_body(" + string(v.ResponseBody.GetBody()) + ")" + eosMark(v.ResponseBody.GetEndOfStream())
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return "request_trailers"
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return "response_trailers"
	}
	return "unknown"
}

func eosMark(eos bool) string {
	if eos {
		return " eos"
	}
	return ""
}

func kinds(ms []*extprocv3.ProcessingRequest) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = kind(m)
	}
	return out
}

// headerValue finds a header in a message's HeaderMap.
func headerValue(hm *corev3.HeaderMap, key string) (string, bool) {
	for _, h := range hm.GetHeaders() {
		if h.GetKey() == key {
			return string(h.GetRawValue()), true
		}
	}
	return "", false
}
