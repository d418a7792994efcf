package envoysim

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ServeHTTP runs one request through the filter and the upstream: request
// headers and body through the processor, the upstream call, then the
// response through the processor, on one gRPC stream.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.begin()
	ex := &Exchange{}
	defer func() { p.end(*ex) }()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s := newSession(ctx, p, ex)
	defer s.end()

	reqH := requestHeaderMap(r, requestID())
	up := &upstreamCall{p: p, ex: ex, ctx: ctx, route: p.opts.Upstream(reqH.httpHeader())}
	var frames <-chan frame
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		frames = readFrames(ctx, r.Body, r.ContentLength, p.opts.EndOfStream, func() http.Header { return r.Trailer })
	}
	if err := s.process(&s.req, reqH, frames, up); err != nil {
		up.abort(err)
		p.reply(w, ex, err)
		return
	}
	resp := up.wait()
	defer resp.Body.Close()

	respH := responseHeaderMap(resp.StatusCode, resp.Header)
	frames = nil
	if resp.Body != http.NoBody && resp.ContentLength != 0 {
		frames = readFrames(ctx, resp.Body, resp.ContentLength, p.opts.EndOfStream, func() http.Header { return resp.Trailer })
	}
	down := &clientSink{w: w, ex: ex}
	if err := s.process(&s.resp, respH, frames, down); err != nil {
		if errors.Is(err, errDownstreamGone) {
			ex.Reset = true
			return
		}
		if down.started() {
			// Envoy cannot send a local reply once response headers went
			// downstream: it resets the stream. http.ErrAbortHandler is
			// net/http's way to abort a response (httputil.ReverseProxy uses
			// it too); the server recovers it without logging.
			ex.Reset = true
			ex.Status = 0
			if ex.Error == "" {
				ex.Error = err.Error()
			}
			panic(http.ErrAbortHandler)
		}
		p.reply(w, ex, err)
	}
}

// reply writes a local reply; other errors (a body aborted by its sender)
// leave nothing to answer.
func (p *Proxy) reply(w http.ResponseWriter, ex *Exchange, err error) {
	var lr *localReply
	if !errors.As(err, &lr) {
		ex.Error = err.Error()
		return
	}
	if !strings.HasPrefix(lr.details, "immediate_response") {
		ex.Error = lr.details
	}
	if lr.headers != nil {
		for k, vs := range lr.headers.regular() {
			w.Header()[k] = vs
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(lr.body)))
	w.WriteHeader(lr.status)
	_, _ = w.Write(lr.body)
	ex.Status = lr.status
}

// requestID makes an x-request-id as Envoy's default UUID generator does.
func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// upstreamCall is the request direction's sink: the router. Its start picks
// the route (again with the mutated headers if the route cache was cleared)
// and starts the upstream request, whose body then streams through a pipe.
type upstreamCall struct {
	p     *Proxy
	ex    *Exchange
	ctx   context.Context
	route *url.URL

	pw     *io.PipeWriter
	body   bytes.Buffer
	result chan *http.Response
}

var _ sink = (*upstreamCall)(nil)

func (u *upstreamCall) started() bool { return u.result != nil }

func (u *upstreamCall) start(h *headerMap, noBody bool) error {
	route := u.route
	if u.ex.RouteCacheCleared {
		route = u.p.opts.Upstream(h.httpHeader())
	}
	if route == nil {
		return &localReply{status: http.StatusNotFound, details: "route_not_found"}
	}
	path, _ := h.get(":path")
	target, err := url.Parse(route.Scheme + "://" + route.Host + path)
	if err != nil {
		return &localReply{status: http.StatusBadRequest, details: fmt.Sprintf("invalid :path %q", path)}
	}
	method, _ := h.get(":method")
	req, err := http.NewRequestWithContext(u.ctx, method, target.String(), nil)
	if err != nil {
		return &localReply{status: http.StatusBadRequest, details: err.Error()}
	}
	req.Host, _ = h.get(":authority")
	if u.p.opts.HostRewrite {
		req.Host = route.Host
	}
	req.Header = h.regular()
	if !noBody {
		pr, pw := io.Pipe()
		u.pw = pw
		req.Body = pr
		req.ContentLength = -1
		if n, ok := contentLength(h); ok {
			req.ContentLength = n
		}
	}
	u.ex.UpstreamURL = target
	u.ex.UpstreamHeaders = h.httpHeader()
	u.result = make(chan *http.Response, 1)
	go func() { u.result <- u.roundTrip(req) }() //nolint:bodyclose // handed over through u.result; the response path closes it
	return nil
}

// roundTrip calls the upstream; a failure becomes the 503 Envoy's router
// answers, which then goes through the response path like any response.
func (u *upstreamCall) roundTrip(req *http.Request) *http.Response {
	resp, err := u.p.opts.Transport.RoundTrip(req)
	if err == nil {
		return resp
	}
	body := "upstream connect error or disconnect/reset before headers. reset reason: " + err.Error()
	return &http.Response{
		StatusCode:    http.StatusServiceUnavailable,
		Header:        http.Header{"Content-Type": {"text/plain"}, "Content-Length": {strconv.Itoa(len(body))}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

func (u *upstreamCall) write(p []byte) error {
	u.body.Write(p)
	if u.pw != nil {
		// A failed write means the upstream stopped reading; its answer (or
		// its error, as a 503) tells the rest.
		_, _ = u.pw.Write(p)
	}
	return nil
}

func (u *upstreamCall) finish(*headerMap) error {
	u.ex.UpstreamBody = u.body.Bytes()
	if u.pw != nil {
		return u.pw.Close()
	}
	return nil
}

func (u *upstreamCall) abort(err error) {
	if u.pw != nil {
		u.pw.CloseWithError(err)
	}
}

func (u *upstreamCall) wait() *http.Response { return <-u.result }

// clientSink is the response direction's sink: the client. Every write is
// flushed, so streamed responses (SSE) reach the client chunk by chunk.
type clientSink struct {
	w       http.ResponseWriter
	ex      *Exchange
	written bool
}

var _ sink = (*clientSink)(nil)

func (c *clientSink) started() bool { return c.written }

func (c *clientSink) start(h *headerMap, _ bool) error {
	v, _ := h.get(":status")
	status, err := strconv.Atoi(v)
	if err != nil || status < 100 || status > 999 {
		status = http.StatusBadGateway
	}
	for k, vs := range h.regular() {
		c.w.Header()[k] = vs
	}
	c.w.WriteHeader(status)
	c.written = true
	c.ex.Status = status
	return http.NewResponseController(c.w).Flush()
}

func (c *clientSink) write(p []byte) error {
	if _, err := c.w.Write(p); err != nil {
		return errors.Join(errAborted, err)
	}
	return http.NewResponseController(c.w).Flush()
}

func (c *clientSink) finish(trailers *headerMap) error {
	if trailers == nil {
		return nil
	}
	for k, vs := range trailers.regular() {
		c.w.Header()[http.TrailerPrefix+k] = vs
	}
	return nil
}
