package extproc

import (
	"context"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/semproc/semproc/semantic"
)

// plan is what the request phase decided to do to the request.
type plan struct {
	// hit, when set, answers the request from the cache.
	hit        *extprocv3.ProcessingResponse
	headers    headerSet
	body       []byte // the rewritten body; nil when unchanged
	clearRoute bool
}

// decide parses the body, routes it and asks the cache, in that order: the
// cache partition uses the effective model.
func (st *stream) decide(ctx context.Context, scope string) plan {
	var p plan
	if st.s.o.Cache != nil {
		// The upstream must answer in plain text for the answer to be
		// stored; a hit is always sent uncompressed.
		p.headers = p.headers.del("accept-encoding")
	}
	if st.requestDuplex {
		// The headers reply is still held: it carries what the first
		// reply carries in the other modes.
		p.headers, p.clearRoute = p.headers.merge(st.routeHeaders), st.routeClear
	}
	cc := parseCacheControl(st.headers["cache-control"])
	if cc.noStore && !st.routes() {
		// Nothing would use what a parse finds.
		st.result = semantic.Result{Status: semantic.StatusBypass, Reason: "request Cache-Control: no-store"}
		return p
	}
	if err := checkBody(ctx, st.body, st.s.o.MaxValues); err != nil {
		st.log.Debug("request body refused before parsing; passing through", "error", err)
		st.result = semantic.Result{Status: semantic.StatusBypass, Reason: "body over the parse budget or ambiguous"}
		return p
	}
	req, err := st.ep.format.ParseRequest(st.body, st.s.o.Countback)
	if err != nil {
		st.log.Debug("request body not understood; passing through", "error", err)
		st.result = semantic.Result{Status: semantic.StatusBypass, Reason: "body is not a " + st.ep.format.API() + " request"}
		return p
	}
	if !semantic.HeaderSafe(req.Model) {
		// The model goes into headers (routing, X-Semproc-Model) where Envoy
		// would refuse it; the API will answer the client about it.
		st.result = semantic.Result{Status: semantic.StatusBypass, Reason: "model is not a valid header value"}
		return p
	}
	st.req = req
	if st.ep.model != "" {
		req.Model = st.ep.model
	}
	st.clientModel = req.Model
	// A body that came in replied-to chunks can no longer be rewritten, and
	// Envoy ignores header mutations in streamed body replies: such a
	// request keeps its own model.
	if st.routes() && !st.partialBody {
		p = st.applyRoute(ctx, p)
	}
	st.model = req.Model
	if st.s.o.Cache == nil {
		return p
	}
	if cc.noStore {
		st.result = semantic.Result{Status: semantic.StatusBypass, Reason: "request Cache-Control: no-store"}
		return p
	}
	if scope == "" {
		st.result = semantic.Result{Status: semantic.StatusBypass, Reason: "request carries none of the scope headers (SEMPROC_CACHE_ANONYMOUS=bypass)"}
		return p
	}
	start := time.Now()
	st.result = st.s.o.Cache.Get(ctx, semantic.Lookup{
		Request: req, Scope: scope, NoCache: cc.noCache,
		MaxAge: cc.maxAge, HasMaxAge: cc.hasMaxAge,
	})
	st.s.o.Metrics.lookup.Record(ctx, time.Since(start).Seconds())
	switch st.result.Status {
	case semantic.StatusFailed:
		st.s.o.Metrics.failure(ctx, stageLookup)
		st.warn("lookup", "cache lookup failed; going upstream", "error", st.result.Err)
	case semantic.StatusHit:
		p.hit = st.hitReply(ctx)
	}
	return p
}

func (st *stream) routes() bool { return st.s.o.Router != nil && st.ep.routable }

// applyRoute sets the effective model in the body and in the routing
// header, and clears Envoy's route cache in the same reply so the header is
// routed on.
func (st *stream) applyRoute(ctx context.Context, p plan) plan {
	ctx, span := st.s.o.Tracer.Start(ctx, "semproc.route")
	defer span.End()
	req := st.req
	d := st.s.o.Router.Route(ctx, req.API, req.Model, req.RouteText)
	if d.Err != nil {
		st.s.o.Metrics.failure(ctx, stageRoute)
		st.warn("route", "routing fell back", "error", d.Err)
	}
	st.route = d.Target
	if d.Model != "" && d.Model != req.Model {
		body, err := st.ep.format.SetModel(st.body, d.Model)
		if err != nil {
			st.s.o.Metrics.failure(ctx, stageRoute)
			st.warn("set_model", "could not rewrite the model; request keeps its own", "error", err)
		} else {
			p.body, st.body, req.Model = body, body, d.Model
		}
	}
	if req.Model != "" {
		p.headers = p.headers.replace(st.s.o.ModelHeader, req.Model)
		p.clearRoute = true
	}
	return p
}

// scope hashes the configured credential headers: one tenant's entries are
// never served to another. It is empty for a request with none of them,
// unless anonymous requests share one scope (ShareAnonymous).
func (st *stream) scope() string {
	if s := Scope(st.headers, st.s.o.ScopeHeaders); s != "" || !st.s.o.ShareAnonymous {
		return s
	}
	return semantic.Scope(nil)
}

// Scope hashes the values of the credential headers named (lower case) in
// names: one tenant's entries are never served to another. headers are
// keyed in lower case. It is empty when none of them was sent with a value:
// an empty credential is no credential, so it never makes a shared scope of
// its own behind ShareAnonymous's back.
func Scope(headers map[string]string, names []string) string {
	var values []string
	for _, name := range names {
		if v := headers[name]; strings.TrimSpace(v) != "" {
			values = append(values, name, v)
		}
	}
	if values == nil {
		return ""
	}
	return semantic.Scope(values)
}

// hitReply renders a cache hit as Envoy's immediate response; a record that
// cannot be replayed turns the hit into a failure, and the request goes
// upstream.
func (st *stream) hitReply(ctx context.Context) *extprocv3.ProcessingResponse {
	m := st.result.Match
	reply, err := st.ep.format.Replay(m.Completion, st.req)
	if err != nil {
		st.s.o.Metrics.failure(ctx, stageReplay)
		st.log.Error("stored completion cannot be replayed; going upstream", "key", m.Key, "error", err)
		st.result = semantic.Result{Status: semantic.StatusFailed, Reason: "stored completion unreadable", Err: err}
		return nil
	}
	st.s.o.Metrics.hit(ctx, st.ep.format.API(), st.model, m)
	now := time.Now()
	h := st.responseHeaders().
		add("x-cache-key", m.Key).
		add("x-cache-ttl", strconv.FormatInt(int64(max(m.ExpiresAt.Sub(now), 0)/time.Second), 10)).
		add("age", strconv.FormatInt(int64(max(now.Sub(m.StoredAt), 0)/time.Second), 10)).
		add("x-cache-distance", semantic.FormatDistance(m.Distance, st.result.Exact))
	return immediateReply(h, reply.ContentType, reply.Body, metadata(st.metadata()))
}

// responseHeaders are the headers every handled response carries.
func (st *stream) responseHeaders() headerSet {
	var h headerSet
	if st.s.o.Cache != nil && st.result.Status != "" {
		h = h.add("x-cache-status", string(st.result.Status))
	}
	if st.routes() && st.req != nil {
		route := st.route
		if route == "" {
			route = "none"
		}
		h = h.add("x-semproc-route", route).add("x-semproc-model", st.model)
	}
	return h
}

// metadata is what Envoy's access log can print of this request.
func (st *stream) metadata() map[string]string {
	md := map[string]string{"cache_status": string(st.result.Status), "route": st.route, "model": st.model}
	if m := st.result.Match; m != nil {
		md["cache_key"] = m.Key
		md["distance"] = semantic.FormatDistance(m.Distance, st.result.Exact)
	}
	return md
}
