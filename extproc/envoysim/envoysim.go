// Package envoysim is a test stand-in for Envoy's HTTP filter
// envoy.filters.http.ext_proc in front of one upstream: an HTTP reverse proxy
// that drives a real ExternalProcessor gRPC server the way Envoy
// (1.33–1.38, source/extensions/filters/http/ext_proc) does, configured by
// the filter's own proto. It exists because no Envoy binary can run where
// semproc's end-to-end tests run; every rule it follows names the Envoy
// behaviour it mirrors.
//
// Not mirrored: BUFFERED_PARTIAL, observability_mode, http_service,
// request/response attributes, per-route overrides, StreamedImmediateResponse
// (treated as spurious), and the ext_proc pass over Envoy's own local replies.
package envoysim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// EndOfStream chooses how a STREAMED or FULL_DUPLEX_STREAMED body's end is
// sent to the processor. Envoy sends an empty chunk with end_of_stream behind
// an HTTP/1 codec and flags the last data chunk behind HTTP/2; semproc must
// handle both.
type EndOfStream int

const (
	// EndRandom picks one of the two forms per body, so both get exercised.
	EndRandom EndOfStream = iota
	// EndEmptyChunk ends the body with an empty chunk (HTTP/1).
	EndEmptyChunk
	// EndLastChunk sets end_of_stream on the last data chunk (HTTP/2). When
	// the body's length is unknown (chunked, as SSE usually is), each chunk
	// is held until the next read tells whether it was the last: an upstream
	// that waits for the client between events then stalls, so lock-step
	// streaming tests should pick EndEmptyChunk.
	EndLastChunk
)

// Options configure a Proxy.
type Options struct {
	// Filter is the ext_proc filter config, as in envoy.yaml's typed_config.
	Filter *filterv3.ExternalProcessor
	// Client talks to the ExternalProcessor; one stream per HTTP request.
	Client extprocv3.ExternalProcessorClient
	// Upstream is the route: it gets the request headers (pseudo-headers
	// under ":path" etc.) and returns the upstream base URL (scheme and
	// host), or nil for no route (404, as Envoy's NR). It is asked once with
	// the client's headers and again with the mutated ones if the processor
	// cleared the route cache.
	Upstream func(h http.Header) *url.URL
	// BufferLimit is the per-connection buffer limit; default 1 MiB.
	BufferLimit int
	// EndOfStream picks how streamed bodies end; default EndRandom.
	EndOfStream EndOfStream
	// Transport calls the upstream; default a new http.Transport.
	Transport http.RoundTripper
	// HostRewrite sends the upstream's host as Host, as a route's
	// auto_host_rewrite does (envoy.yaml sets it); otherwise the client's.
	HostRewrite bool
	// Forget keeps no Exchange records, for a proxy that runs for long
	// (semproc try); Exchanges then returns none.
	Forget bool
}

// FailOpen says why processing stopped early and the request went on
// without the processor.
type FailOpen string

// Reasons for ending processing early (Envoy's failure_mode_allow paths and
// onGrpcClose).
const (
	FailOpenSpurious    FailOpen = "spurious reply"
	FailOpenStreamError FailOpen = "stream error"
	FailOpenTimeout     FailOpen = "message timeout"
	FailOpenClosed      FailOpen = "stream closed by server"
)

// Message is one protocol message on the gRPC stream: exactly one of Sent
// and Received is set.
type Message struct {
	Sent     *extprocv3.ProcessingRequest
	Received *extprocv3.ProcessingResponse
}

// Exchange records one HTTP request through the proxy.
type Exchange struct {
	// Messages in the order they were sent and received.
	Messages []Message
	// RouteCacheCleared is true when a reply cleared the route cache under
	// Envoy's rule (request direction, with a header_mutation).
	RouteCacheCleared bool
	// UpstreamURL is the URL called, nil when the upstream was not called.
	UpstreamURL *url.URL
	// UpstreamHeaders are the final request headers sent upstream,
	// pseudo-headers included (":method", ":path", ":authority", ":scheme").
	UpstreamHeaders http.Header
	// UpstreamBody is the request body sent upstream.
	UpstreamBody []byte
	// DynamicMetadata holds what replies set, receiving namespaces only.
	DynamicMetadata map[string]*structpb.Struct
	// FailedOpen is set when processing ended early and traffic went on
	// unprocessed; Reason says why.
	FailedOpen FailOpen
	// Error says why the proxy answered with a local error reply.
	Error string
	// Status is the HTTP status returned to the client (0 if the response
	// was reset after its headers were sent).
	Status int
	// Reset is true when the response to the client was aborted.
	Reset bool
}

// Sent returns the messages sent to the processor.
func (e Exchange) Sent() []*extprocv3.ProcessingRequest {
	var out []*extprocv3.ProcessingRequest
	for _, m := range e.Messages {
		if m.Sent != nil {
			out = append(out, m.Sent)
		}
	}
	return out
}

// Received returns the replies received from the processor.
func (e Exchange) Received() []*extprocv3.ProcessingResponse {
	var out []*extprocv3.ProcessingResponse
	for _, m := range e.Messages {
		if m.Received != nil {
			out = append(out, m.Received)
		}
	}
	return out
}

// Proxy is the Envoy stand-in; it is an http.Handler.
type Proxy struct {
	opts           Options
	checker        *checker
	messageTimeout time.Duration
	maxTimeout     time.Duration
	receiving      map[string]bool

	mu        sync.Mutex
	idle      *sync.Cond
	inflight  int
	exchanges []Exchange
}

// defaultMessageTimeout is Envoy's DefaultMessageTimeoutMs.
const defaultMessageTimeout = 200 * time.Millisecond

// New checks the filter config the way Envoy's config factory does
// (config.cc verifyProcessingModeConfig) and returns a Proxy.
func New(o Options) (*Proxy, error) {
	if o.Filter == nil || o.Client == nil || o.Upstream == nil {
		return nil, errors.New("envoysim: Filter, Client and Upstream are required")
	}
	pm := o.Filter.GetProcessingMode()
	if pm.GetRequestBodyMode() == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED &&
		pm.GetRequestTrailerMode() != filterv3.ProcessingMode_SEND {
		return nil, errors.New("envoysim: request_body_mode FULL_DUPLEX_STREAMED needs request_trailer_mode SEND")
	}
	if pm.GetResponseBodyMode() == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED &&
		pm.GetResponseTrailerMode() != filterv3.ProcessingMode_SEND {
		return nil, errors.New("envoysim: response_body_mode FULL_DUPLEX_STREAMED needs response_trailer_mode SEND")
	}
	if pm.GetRequestBodyMode() == filterv3.ProcessingMode_BUFFERED_PARTIAL ||
		pm.GetResponseBodyMode() == filterv3.ProcessingMode_BUFFERED_PARTIAL {
		return nil, errors.New("envoysim: BUFFERED_PARTIAL is not simulated")
	}
	if o.Filter.GetObservabilityMode() || o.Filter.GetHttpService() != nil {
		return nil, errors.New("envoysim: observability_mode and http_service are not simulated")
	}
	c, err := newChecker(o.Filter.GetMutationRules())
	if err != nil {
		return nil, fmt.Errorf("envoysim: %w", err)
	}
	if o.BufferLimit <= 0 {
		o.BufferLimit = 1 << 20
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{}
	}
	p := &Proxy{opts: o, checker: c, messageTimeout: defaultMessageTimeout, receiving: map[string]bool{}}
	if d := o.Filter.GetMessageTimeout(); d != nil {
		p.messageTimeout = d.AsDuration()
	}
	if d := o.Filter.GetMaxMessageTimeout(); d != nil {
		p.maxTimeout = d.AsDuration()
	}
	for _, ns := range o.Filter.GetMetadataOptions().GetReceivingNamespaces().GetUntyped() {
		p.receiving[ns] = true
	}
	p.idle = sync.NewCond(&p.mu)
	return p, nil
}

// Exchanges returns a record per HTTP request, in completion order. It waits
// for requests in flight, since a client may hold a complete response before
// the handler has returned.
func (p *Proxy) Exchanges() []Exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.inflight > 0 {
		p.idle.Wait()
	}
	return append([]Exchange(nil), p.exchanges...)
}

func (p *Proxy) begin() {
	p.mu.Lock()
	p.inflight++
	p.mu.Unlock()
}

func (p *Proxy) end(ex Exchange) {
	p.mu.Lock()
	if !p.opts.Forget {
		p.exchanges = append(p.exchanges, ex)
	}
	p.inflight--
	p.idle.Broadcast()
	p.mu.Unlock()
}
