package semantic

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Routing modes (SEMPROC_ROUTING_MODE).
const (
	// RouteModeAuto routes only requests whose model is empty or "auto".
	RouteModeAuto = "auto"
	// RouteModeAlways routes every request.
	RouteModeAlways = "always"
)

// Router defaults.
const (
	DefaultRouteThreshold     = 0.5
	DefaultRouteRetryInterval = 5 * time.Second
)

// Decision reasons: why the router chose what it chose.
const (
	// RouteSimilar: the nearest target within its threshold.
	RouteSimilar = "similar"
	// RouteCatchAll: nothing within threshold (or no vectors), so the API's
	// catch-all.
	RouteCatchAll = "catch_all"
	// RouteFirstTarget: as RouteCatchAll, for an API without a catch-all.
	RouteFirstTarget = "first_target"
	// RouteOwnModel: the request keeps the model it named.
	RouteOwnModel = "own_model"
	// RouteNoTargets: no target takes requests of this API.
	RouteNoTargets = "no_targets"
)

// ErrRouterNotReady is the cause of a fallback while the targets'
// descriptions are not embedded yet.
var ErrRouterNotReady = errors.New("routing: target descriptions not embedded yet")

// RouterOptions configure a Router.
type RouterOptions struct {
	Targets []Target
	// Embedder embeds the descriptions and the requests' texts. Pass the
	// same cached Embedder the cache uses: one call then serves both.
	Embedder Embedder
	// Threshold applies to targets without their own
	// (SEMPROC_ROUTING_DISTANCE_THRESHOLD); DefaultRouteThreshold when 0.
	Threshold float64
	// Mode is RouteModeAuto (when empty) or RouteModeAlways.
	Mode   string
	Logger *slog.Logger
	// RetryInterval spaces the attempts to embed the descriptions while the
	// embedder fails; DefaultRouteRetryInterval when 0.
	RetryInterval time.Duration
}

// Decision is where a request goes.
type Decision struct {
	// Target is the chosen target's name; empty when none was.
	Target string
	// Model is the effective model: the target's, or the request's own.
	Model string
	// Distance is the nearest target's distance when the text was compared
	// with the targets (the chosen one's when Reason is RouteSimilar); 0
	// when it was not compared.
	Distance float64
	// Routed is set when the model comes from a target.
	Routed bool
	Reason string
	// Err is the failure that forced a fallback: the embedder's, a
	// dimension mismatch, or ErrRouterNotReady.
	Err error
}

// TargetDistance is one target's distance to a text, for explaining a
// decision.
type TargetDistance struct {
	Name      string
	Model     string
	Distance  float64
	Threshold float64
	// Description is the index of the target's nearest description.
	Description int
	Within      bool
}

// Router picks a target model for a request by comparing its text with the
// targets' descriptions (SPEC §4). It is safe for concurrent use.
type Router struct {
	targets   []Target
	threshold []float64 // per target, defaults applied
	byAPI     map[string]*apiTargets
	embedder  Embedder
	always    bool
	log       *slog.Logger
	retry     time.Duration

	started atomic.Bool
	vectors atomic.Pointer[routeVectors]
	ready   chan struct{}
	readied sync.Once
	wg      sync.WaitGroup
}

// apiTargets are the targets of one API, in document order.
type apiTargets struct {
	indexes  []int
	fallback int // the catch-all, else the first target
}

// NewRouter checks the options and the targets. Call Start to embed the
// descriptions; until then every request gets its fallback.
func NewRouter(o RouterOptions) (*Router, error) {
	var errs []error
	if len(o.Targets) == 0 {
		errs = append(errs, errors.New("no targets"))
	}
	if o.Embedder == nil {
		errs = append(errs, errors.New("no embedder"))
	}
	if !(o.Threshold >= 0 && o.Threshold <= 2) { // also catches NaN
		errs = append(errs, fmt.Errorf("threshold must be in (0, 2], got %g", o.Threshold))
	}
	if o.Mode != "" && o.Mode != RouteModeAuto && o.Mode != RouteModeAlways {
		errs = append(errs, fmt.Errorf("mode must be %q or %q, got %q", RouteModeAuto, RouteModeAlways, o.Mode))
	}
	if o.RetryInterval < 0 {
		errs = append(errs, fmt.Errorf("retry interval must not be negative, got %s", o.RetryInterval))
	}
	errs = append(errs, checkTargets(o.Targets, nil)...)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	r := &Router{
		targets:   slices.Clone(o.Targets),
		threshold: make([]float64, len(o.Targets)),
		byAPI:     map[string]*apiTargets{},
		embedder:  o.Embedder,
		always:    o.Mode == RouteModeAlways,
		log:       o.Logger,
		retry:     o.RetryInterval,
		ready:     make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.retry == 0 {
		r.retry = DefaultRouteRetryInterval
	}
	def := o.Threshold
	if def == 0 {
		def = DefaultRouteThreshold
	}
	for i, t := range r.targets {
		r.threshold[i] = t.Threshold
		if t.Threshold == 0 {
			r.threshold[i] = def
		}
		g := r.byAPI[routeAPI(t.API)]
		if g == nil {
			g = &apiTargets{fallback: i}
			r.byAPI[routeAPI(t.API)] = g
		}
		g.indexes = append(g.indexes, i)
		if t.CatchAll {
			g.fallback = i
		}
	}
	return r, nil
}

// Start embeds the descriptions. It makes one attempt before it returns;
// if that fails, it logs why and keeps trying every RetryInterval in a
// goroutine that ends on success or when ctx ends (see Wait). Requests get
// their fallback meanwhile. Start does its work once; later calls do
// nothing.
func (r *Router) Start(ctx context.Context) {
	if !r.started.CompareAndSwap(false, true) {
		return
	}
	err := r.load(ctx)
	if err == nil {
		return
	}
	r.log.Warn("routing: cannot embed the target descriptions; requests go to the fallback targets until it succeeds",
		"error", err, "retry_interval", r.retry)
	r.wg.Add(1)
	go r.retryLoad(ctx)
}

// Reload embeds the descriptions again in the background, retrying while it
// fails: the embeddings' size changed, so the old vectors compare with
// nothing. Requests get their fallback meanwhile.
func (r *Router) Reload(ctx context.Context) {
	r.wg.Add(1)
	go func() {
		if err := r.load(ctx); err == nil {
			r.wg.Done()
			return
		}
		r.retryLoad(ctx)
	}()
}

// Models are the targets' models, each once.
func (r *Router) Models() []string {
	var out []string
	for _, t := range r.targets {
		if !slices.Contains(out, t.Model) {
			out = append(out, t.Model)
		}
	}
	return out
}

// Always reports RouteModeAlways: every request is routed, even one that
// names its own model.
func (r *Router) Always() bool { return r.always }

// Ready is closed once the descriptions are embedded.
func (r *Router) Ready() <-chan struct{} { return r.ready }

// Wait returns once Start's background attempts, if any, have ended.
func (r *Router) Wait() { r.wg.Wait() }

func (r *Router) retryLoad(ctx context.Context) {
	defer r.wg.Done()
	tick := time.NewTicker(r.retry)
	defer tick.Stop()
	for attempt := 2; ; attempt++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := r.load(ctx)
		if err == nil {
			r.log.Info("routing: target descriptions embedded", "attempts", attempt)
			return
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("routing: cannot embed the target descriptions", "error", err, "attempt", attempt)
	}
}

// load embeds every description and publishes the vectors.
func (r *Router) load(ctx context.Context) error {
	var v routeVectors
	rows := 0
	for _, t := range r.targets {
		v.offsets = append(v.offsets, rows)
		for j, d := range t.Descriptions {
			raw, err := r.embedder.Embed(ctx, d)
			if err != nil {
				return fmt.Errorf("target %q description %d: %w", t.Name, j, err)
			}
			if v.dims == 0 {
				v.dims = len(raw)
			}
			if len(raw) != v.dims {
				return fmt.Errorf("target %q description %d: %d dimensions, earlier ones %d: %w", t.Name, j, len(raw), v.dims, ErrDimension)
			}
			unit, err := Normalize(raw)
			if err != nil {
				return fmt.Errorf("target %q description %d: %w", t.Name, j, err)
			}
			v.vecs = append(v.vecs, unit...)
			rows++
		}
	}
	v.offsets = append(v.offsets, rows)
	r.vectors.Store(&v)
	r.readied.Do(func() { close(r.ready) })
	return nil
}

// Route decides where a request goes. api is the request's format
// ("openai" or "anthropic"), requestModel the model it names, text the
// last user message's text. It never fails: a failure gives the fallback,
// with the cause in Decision.Err.
func (r *Router) Route(ctx context.Context, api, requestModel, text string) Decision {
	ownModel := strings.TrimSpace(requestModel) != "" && !strings.EqualFold(strings.TrimSpace(requestModel), "auto")
	d := Decision{Model: requestModel, Reason: RouteOwnModel}
	if ownModel && !r.always {
		return d
	}
	g := r.byAPI[routeAPI(api)]
	if g == nil {
		d.Reason = RouteNoTargets
		return d
	}
	if strings.TrimSpace(text) != "" {
		best, dist, err := r.compare(ctx, g, text)
		d.Distance, d.Err = dist, err
		if best >= 0 {
			return r.chosen(d, best, RouteSimilar)
		}
	}
	if ownModel {
		return d
	}
	if r.targets[g.fallback].CatchAll {
		return r.chosen(d, g.fallback, RouteCatchAll)
	}
	return r.chosen(d, g.fallback, RouteFirstTarget)
}

func (r *Router) chosen(d Decision, i int, reason string) Decision {
	d.Target, d.Model, d.Routed, d.Reason = r.targets[i].Name, r.targets[i].Model, true, reason
	return d
}

// compare embeds text and returns the nearest target within its threshold
// and its distance, or -1 and the nearest distance of all.
func (r *Router) compare(ctx context.Context, g *apiTargets, text string) (best int, dist float64, err error) {
	v := r.vectors.Load()
	if v == nil {
		return -1, 0, ErrRouterNotReady
	}
	q, err := r.embedder.Embed(ctx, text)
	if err != nil {
		return -1, 0, fmt.Errorf("routing: %w", err)
	}
	qnorm, err := v.queryNorm(q)
	if err != nil {
		return -1, 0, err
	}
	best, bestDist, nearest := -1, math.Inf(1), math.Inf(1)
	for _, i := range g.indexes {
		d, _ := v.distance(i, q, qnorm)
		nearest = min(nearest, d)
		if d <= r.threshold[i] && d < bestDist {
			best, bestDist = i, d
		}
	}
	if best >= 0 {
		return best, bestDist, nil
	}
	return -1, nearest, nil
}

// Distances compares text with every target of api, nearest first, for
// explaining decisions (semproc explain).
func (r *Router) Distances(ctx context.Context, api, text string) ([]TargetDistance, error) {
	g := r.byAPI[routeAPI(api)]
	if g == nil {
		return nil, fmt.Errorf("routing: no targets for api %q", routeAPI(api))
	}
	v := r.vectors.Load()
	if v == nil {
		return nil, ErrRouterNotReady
	}
	q, err := r.embedder.Embed(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	qnorm, err := v.queryNorm(q)
	if err != nil {
		return nil, err
	}
	out := make([]TargetDistance, 0, len(g.indexes))
	for _, i := range g.indexes {
		dist, desc := v.distance(i, q, qnorm)
		t := r.targets[i]
		out = append(out, TargetDistance{Name: t.Name, Model: t.Model, Distance: dist, Threshold: r.threshold[i], Description: desc, Within: dist <= r.threshold[i]})
	}
	slices.SortStableFunc(out, func(a, b TargetDistance) int { return cmp.Compare(a.Distance, b.Distance) })
	return out, nil
}
