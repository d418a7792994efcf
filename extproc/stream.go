package extproc

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.opentelemetry.io/otel/trace"

	"github.com/semproc/semproc/semantic"
)

// phase is where a stream stands; it alone decides which message semproc
// acts on. Anything out of phase gets the neutral reply of its type, so
// Envoy always receives exactly the reply it waits for.
type phase int

const (
	phaseRequestHeaders  phase = iota
	phaseRequestBody           // a handled request: collecting its body
	phaseResponseHeaders       // waiting to annotate the response
	phaseResponseBody          // capturing a response worth storing
	phasePassThrough           // nothing more to do: neutral replies
)

// stream is the state of one HTTP request's ext_proc stream.
type stream struct {
	s       *Server
	ctx     context.Context
	log     *slog.Logger
	started time.Time
	phase   phase

	// The body modes Envoy announced in protocol_config, read from the
	// first message (configured).
	configured                                                      bool
	requestDuplex, responseDuplex, requestBuffered, requestStreamed bool
	// routeHeaders go in the request headers reply, whenever it is sent:
	// the client's routing header removed (and, in always mode, the
	// fallback target's model set), so no client picks its own route.
	routeHeaders headerSet
	routeClear   bool
	// heldHeaders is set while a FULL_DUPLEX_STREAMED request's headers
	// reply is held back until the body is complete.
	heldHeaders bool
	// partialBody is set when a request body came in several replied-to
	// chunks (STREAMED): it can be read but no longer rewritten.
	partialBody bool

	ep      endpoint
	headers map[string]string
	body    []byte

	// The outcome, for headers, metadata, metrics and the log line.
	handled bool
	req     *semantic.Request
	result  semantic.Result
	route   string
	model   string
	capture semantic.Capture
	ttl     time.Duration
	// clientModel is the model the client asked for, before routing;
	// completion what a captured response reports (its record dropped).
	clientModel string
	completion  semantic.Completion
	span        trace.Span // nil until the request is known to be handled
}

func newStream(ctx context.Context, s *Server) *stream {
	return &stream{s: s, ctx: ctx, log: s.o.Logger, started: time.Now()}
}

// handleSafely turns a panic into a logged, counted pass-through: one bad
// request must never take the process or the stream down. What was held
// back before the message is restored, so the pass-through sends every
// body byte exactly once.
func (st *stream) handleSafely(req *extprocv3.ProcessingRequest) (out []*extprocv3.ProcessingResponse) {
	// The body as it was before this message: routing may have replaced
	// st.body with a rewritten one since, which a pass-through must not
	// send.
	held, heldHeaders := st.body, st.heldHeaders
	defer func() {
		if r := recover(); r != nil {
			st.log.Error("panic while processing a message; passing the request through", "panic", r, "stack", string(debug.Stack()))
			st.s.o.Metrics.failure(st.ctx, stagePanic)
			st.phase = phasePassThrough
			st.body, st.heldHeaders = held, heldHeaders
			out = st.passThrough(req)
		}
	}()
	return st.handle(req)
}

func (st *stream) handle(req *extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	if !st.configured {
		// protocol_config comes in the first message, whichever it is (with
		// request headers SKIP, a body or the response headers).
		pc := req.GetProtocolConfig()
		st.requestDuplex = pc.GetRequestBodyMode() == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
		st.responseDuplex = pc.GetResponseBodyMode() == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
		st.requestBuffered = pc.GetRequestBodyMode() == filterv3.ProcessingMode_BUFFERED
		st.requestStreamed = pc.GetRequestBodyMode() == filterv3.ProcessingMode_STREAMED
		st.configured = true
	}
	var out []*extprocv3.ProcessingResponse
	switch req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestBody, *extprocv3.ProcessingRequest_RequestTrailers:
	default:
		if st.heldHeaders {
			// The request body will not end: let the request go on as it
			// came before answering anything else.
			out = st.releaseHeld()
			st.phase = phasePassThrough
		}
	}
	return append(out, st.handleMessage(req)...)
}

// releaseHeld answers a FULL_DUPLEX_STREAMED request's held headers (the
// client's routing header still removed) and forwards the body held so
// far, unchanged.
func (st *stream) releaseHeld() []*extprocv3.ProcessingResponse {
	out := []*extprocv3.ProcessingResponse{requestHeadersReply(common(st.routeHeaders, st.routeClear), nil)}
	if len(st.body) > 0 {
		out = append(out, streamedBody(st.body, false, true)...)
	}
	st.body, st.heldHeaders = nil, false
	return out
}

func (st *stream) handleMessage(req *extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	switch m := req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		if st.phase == phaseRequestHeaders {
			return st.onRequestHeaders(m.RequestHeaders)
		}
	case *extprocv3.ProcessingRequest_RequestBody:
		if st.phase == phaseRequestBody {
			return st.onRequestBody(m.RequestBody)
		}
	case *extprocv3.ProcessingRequest_RequestTrailers:
		// With FULL_DUPLEX_STREAMED, trailers can be what ends the body.
		if st.phase == phaseRequestBody && st.requestDuplex {
			return append(st.endRequestBody(false), trailersReply(true))
		}
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		if st.phase == phaseResponseHeaders {
			return st.onResponseHeaders(m.ResponseHeaders)
		}
	case *extprocv3.ProcessingRequest_ResponseBody:
		if st.phase == phaseResponseBody {
			return st.onResponseBody(m.ResponseBody)
		}
	}
	return st.passThrough(req)
}

// passThrough is the neutral reply to any message: let it go on unchanged.
// In FULL_DUPLEX_STREAMED every body reply must carry the body itself, so
// the body is echoed, together with anything held back.
func (st *stream) passThrough(req *extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	switch m := req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		st.phase = phasePassThrough
		return []*extprocv3.ProcessingResponse{requestHeadersReply(common(st.routeHeaders, st.routeClear), skipAll())}
	case *extprocv3.ProcessingRequest_RequestBody:
		if !st.requestDuplex {
			return []*extprocv3.ProcessingResponse{requestBodyReply(&extprocv3.CommonResponse{})}
		}
		var out []*extprocv3.ProcessingResponse
		if st.heldHeaders {
			out = append(out, requestHeadersReply(common(st.routeHeaders, st.routeClear), nil))
			st.heldHeaders = false
		}
		held := st.body
		st.body = nil
		held = append(held, m.RequestBody.GetBody()...)
		return append(out, streamedBody(held, m.RequestBody.GetEndOfStream(), true)...)
	case *extprocv3.ProcessingRequest_RequestTrailers:
		var out []*extprocv3.ProcessingResponse
		if st.heldHeaders {
			out = st.releaseHeld()
		}
		return append(out, trailersReply(true))
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return []*extprocv3.ProcessingResponse{responseHeadersReply(&extprocv3.CommonResponse{}, nil, nil)}
	case *extprocv3.ProcessingRequest_ResponseBody:
		if st.responseDuplex {
			return streamedBody(m.ResponseBody.GetBody(), m.ResponseBody.GetEndOfStream(), false)
		}
		return []*extprocv3.ProcessingResponse{responseBodyReply()}
	default:
		return []*extprocv3.ProcessingResponse{trailersReply(false)}
	}
}

func (st *stream) onRequestHeaders(h *extprocv3.HttpHeaders) []*extprocv3.ProcessingResponse {
	ep, ok := st.s.o.Formats.classify(requestLine(h.GetHeaders()))
	st.routeHeaders, st.routeClear = st.clientRouteHeaders(ep, h.GetHeaders())
	if !ok {
		st.phase = phasePassThrough
		return []*extprocv3.ProcessingResponse{requestHeadersReply(common(st.routeHeaders, st.routeClear), skipAll())}
	}
	st.headers = headerMap(h.GetHeaders())
	if id := st.headers["x-request-id"]; id != "" {
		st.log = st.log.With("request_id", clip(id))
	}
	st.ep, st.handled = ep, true
	st.startSpan()
	reply := requestHeadersReply(common(st.routeHeaders, st.routeClear), nil)
	if h.GetEndOfStream() {
		st.result = semantic.Result{Status: semantic.StatusBypass, Reason: "request has no body"}
		st.phase = phaseResponseHeaders
		return []*extprocv3.ProcessingResponse{reply}
	}
	st.phase = phaseRequestBody
	if st.requestDuplex {
		// Held until the body is complete: routing may rewrite headers.
		st.heldHeaders = true
		return nil
	}
	return []*extprocv3.ProcessingResponse{reply}
}

// clientRouteHeaders keeps the client out of Envoy's routing decision:
// whatever it sent in the routing header is removed from the first reply,
// before Envoy routes, whatever happens next (a pass-through, a body
// streamed in chunks or never ended, a parse failure). In always mode a
// routable request gets the fallback target's model until its body says
// otherwise. The route cache is cleared only when this changes something.
func (st *stream) clientRouteHeaders(ep endpoint, hm *corev3.HeaderMap) (headerSet, bool) {
	var h headerSet
	if st.s.o.Router == nil {
		return h, false
	}
	name := st.s.o.ModelHeader
	if hasHeader(hm, name) {
		h = h.del(name)
	}
	if ep.routable && st.s.o.Router.Always() {
		if d := st.s.o.Router.Route(st.ctx, ep.format.API(), "", ""); d.Model != "" {
			h = h.add(name, d.Model)
		}
	}
	return h, !h.empty()
}

func (st *stream) onRequestBody(b *extprocv3.HttpBody) []*extprocv3.ProcessingResponse {
	if len(st.body)+len(b.GetBody()) > st.s.o.MaxBody {
		// Too large to parse: stop holding anything and pass through.
		st.result = semantic.Result{Status: semantic.StatusBypass, Reason: "request body over the parse limit"}
		st.phase = phaseResponseHeaders
		return st.passThrough(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: b}})
	}
	st.body = append(st.body, b.GetBody()...)
	if st.requestStreamed {
		// Envoy applies a STREAMED body reply's header mutations only to a
		// body that came before the headers reply, which semproc cannot
		// tell: a rewritten model would go where the old one routes.
		st.partialBody = true
	}
	// BUFFERED sends the whole body in one message, without end_of_stream
	// when trailers follow (even trailers Envoy then skips).
	if b.GetEndOfStream() || st.requestBuffered {
		return st.endRequestBody(b.GetEndOfStream())
	}
	if st.requestDuplex {
		return nil
	}
	// A STREAMED request body: each chunk needs its reply now.
	st.partialBody = true
	return []*extprocv3.ProcessingResponse{requestBodyReply(&extprocv3.CommonResponse{})}
}

// endRequestBody decides the request (route, then cache) and answers:
// an immediate response for a hit, else the request's mutations.
func (st *stream) endRequestBody(eos bool) []*extprocv3.ProcessingResponse {
	// The request's embeddings (routing, lookup, and the store after the
	// response) are cached under its tenant scope only.
	scope := st.scope()
	st.ctx = semantic.WithEmbedScope(st.ctx, scope, scope != "")
	ctx, cancel := context.WithTimeoutCause(st.ctx, st.s.o.LookupTimeout, semantic.ErrBudget)
	defer cancel()
	ctx, span := st.s.o.Tracer.Start(ctx, "semproc.request_body")
	defer span.End()
	plan := st.decide(ctx, scope)
	st.phase = phaseResponseHeaders
	if plan.hit != nil {
		st.phase = phasePassThrough
		return []*extprocv3.ProcessingResponse{plan.hit}
	}
	body := st.body
	if plan.body != nil {
		body = plan.body
	}
	st.body = nil
	if st.requestDuplex {
		// Envoy drops content-length itself in this mode.
		out := []*extprocv3.ProcessingResponse{requestHeadersReply(common(plan.headers, plan.clearRoute), nil)}
		st.heldHeaders = false
		return append(out, streamedBody(body, eos, true)...)
	}
	if plan.body != nil && !st.partialBody {
		c := withBody(plan.headers, plan.body)
		c.ClearRouteCache = plan.clearRoute
		return []*extprocv3.ProcessingResponse{requestBodyReply(c)}
	}
	return []*extprocv3.ProcessingResponse{requestBodyReply(common(plan.headers, plan.clearRoute))}
}

// finish writes the request's log line and counts it, once.
func (st *stream) finish() {
	if !st.handled {
		return
	}
	status := string(st.result.Status)
	switch {
	case st.s.o.Cache == nil:
		status = "disabled"
	case status == "":
		status = "incomplete" // the stream ended before the request body did
	}
	route := st.route
	if route == "" {
		route = "none"
	}
	api := "unknown"
	if st.ep.format != nil {
		api = st.ep.format.API()
	}
	st.s.o.Metrics.request(st.ctx, api, status, route, st.model)
	st.endSpan(api, status, route)
	attrs := []any{"api", api, "cache_status", status, "route", route, "model", clip(st.model), "duration", time.Since(st.started)}
	if st.result.Reason != "" {
		attrs = append(attrs, "reason", st.result.Reason)
	}
	st.log.Info("request", attrs...)
}

// headerMap reads Envoy's headers, lower-cased. Envoy sends values in
// raw_value; value is read only as a fallback for older senders.
func headerMap(hm *corev3.HeaderMap) map[string]string {
	out := make(map[string]string, len(hm.GetHeaders()))
	for _, h := range hm.GetHeaders() {
		v := headerValue(h)
		k := strings.ToLower(h.GetKey())
		if prev, ok := out[k]; ok {
			v = prev + "," + v
		}
		out[k] = v
	}
	return out
}

// requestLine is the request's :method and :path, read without building
// the header map: a pass-through needs nothing more, and it must cost as
// little as a server that only skips.
func requestLine(hm *corev3.HeaderMap) (method, path string) {
	for _, h := range hm.GetHeaders() {
		switch h.GetKey() {
		case ":method":
			method = headerValue(h)
		case ":path":
			path = headerValue(h)
		}
	}
	return method, path
}

// hasHeader reports whether a lower-case header name was sent, without
// building the header map (a pass-through reads nothing else).
func hasHeader(hm *corev3.HeaderMap, name string) bool {
	for _, h := range hm.GetHeaders() {
		if strings.EqualFold(h.GetKey(), name) {
			return true
		}
	}
	return false
}

func headerValue(h *corev3.HeaderValue) string {
	if v := h.GetRawValue(); len(v) > 0 {
		return string(v)
	}
	return h.GetValue()
}
