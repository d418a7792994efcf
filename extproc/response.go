package extproc

import (
	"context"
	"strconv"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.opentelemetry.io/otel/trace"

	"github.com/semproc/semproc/semantic"
)

// onResponseHeaders annotates the response and decides whether its body is
// worth capturing: only a 2xx, uncompressed answer to a Miss or Refresh
// that the upstream allows to be stored.
func (st *stream) onResponseHeaders(h *extprocv3.HttpHeaders) []*extprocv3.ProcessingResponse {
	headers := headerMap(h.GetHeaders())
	md := metadata(st.metadata())
	set := st.responseHeaders()
	if reason := st.unstorable(headers); reason != "" {
		if st.result.Status == semantic.StatusMiss || st.result.Status == semantic.StatusRefresh {
			st.s.o.Metrics.stored(st.ctx, storeNotStorable)
			st.log.Debug("response not stored", "reason", reason)
		}
		st.phase = phasePassThrough
		return []*extprocv3.ProcessingResponse{responseHeadersReply(common(set, false), skipResponseBody(), md)}
	}
	cc := parseCacheControl(headers["cache-control"])
	if cc.hasMaxAge {
		st.ttl = cc.maxAge
	}
	sse := strings.HasPrefix(strings.ToLower(headers["content-type"]), "text/event-stream")
	st.capture = st.ep.format.NewCapture(sse, st.s.o.MaxCapture)
	st.phase = phaseResponseBody
	return []*extprocv3.ProcessingResponse{responseHeadersReply(common(set, false), streamResponseBody(), md)}
}

// unstorable says why a response must not be captured, or "" when it may.
func (st *stream) unstorable(headers map[string]string) string {
	if st.result.Status != semantic.StatusMiss && st.result.Status != semantic.StatusRefresh {
		return "nothing to store"
	}
	if code, err := strconv.Atoi(headers[":status"]); err != nil || code < 200 || code > 299 {
		return "status " + headers[":status"]
	}
	if enc := strings.ToLower(headers["content-encoding"]); enc != "" && enc != "identity" {
		return "content-encoding " + enc
	}
	cc := parseCacheControl(headers["cache-control"])
	switch {
	case cc.noStore:
		return "response Cache-Control: no-store"
	case cc.private:
		return "response Cache-Control: private"
	case cc.hasMaxAge && cc.maxAge == 0:
		return "response Cache-Control: max-age=0"
	}
	return ""
}

func (st *stream) onResponseBody(b *extprocv3.HttpBody) []*extprocv3.ProcessingResponse {
	st.capture.Write(b.GetBody())
	if b.GetEndOfStream() {
		st.phase = phasePassThrough
		st.store()
	}
	if st.responseDuplex {
		return streamedBody(b.GetBody(), b.GetEndOfStream(), false)
	}
	return []*extprocv3.ProcessingResponse{responseBodyReply()}
}

// store writes a completed response off the request path. A stream that
// ends before its body did never gets here, so nothing truncated is
// stored.
func (st *stream) store() {
	comp, err := st.capture.Finish()
	if err != nil {
		st.s.o.Metrics.stored(st.ctx, storeRejected)
		st.log.Debug("response not stored", "reason", err)
		return
	}
	st.completion = semantic.Completion{Usage: comp.Usage, Model: comp.Model}
	result, ttl := st.result, st.ttl
	st.s.writes.Add(1)
	go func() {
		defer st.s.writes.Done()
		ctx, cancel := context.WithTimeoutCause(context.WithoutCancel(st.ctx), st.s.o.StoreTimeout, semantic.ErrBudget)
		defer cancel()
		// The write outlives the request: a trace of its own, linked to
		// the request's span.
		ctx, span := st.s.o.Tracer.Start(ctx, "semproc.store", trace.WithNewRoot(), trace.WithLinks(trace.LinkFromContext(ctx)))
		defer span.End()
		if err := st.s.o.Cache.Store(ctx, result, comp, ttl); err != nil {
			st.s.o.Metrics.stored(ctx, storeFailed)
			st.s.o.Metrics.failure(ctx, stageStore)
			st.warn("store", "storing the completion failed", "error", err)
			return
		}
		st.s.o.Metrics.stored(ctx, storeStored)
	}()
}
