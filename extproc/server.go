// Package extproc is semproc's Envoy-facing adapter: the ext_proc Process
// loop, the per-stream state machine and the replies Envoy expects. It holds
// no Redis and no provider JSON: those come in through semantic.Format, the
// semantic.Cache and the Router.
package extproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/semproc/semproc/semantic"
)

// Router picks the effective model of a request (SPEC §4).
type Router interface {
	Route(ctx context.Context, api, model, text string) semantic.Decision
	// Always reports SEMPROC_ROUTING_MODE=always: every request is routed,
	// so one whose body is never seen whole goes to the fallback target.
	Always() bool
}

// Options configures a Server. Cache and Router may be nil: that feature is
// off.
type Options struct {
	Formats Formats
	Cache   *semantic.Cache
	Router  Router
	// ScopeHeaders name the request headers whose values partition the
	// cache by tenant.
	ScopeHeaders []string
	// ModelHeader is the request header Envoy routes on.
	ModelHeader string
	// ShareAnonymous caches requests that carry none of the scope headers
	// in one shared anonymous scope. By default they are not cached
	// (Bypass): their identity may lie in headers semproc does not read
	// (cookies, JWTs, mTLS, keys Envoy adds later), and one shared
	// partition would serve one user's answers to another.
	ShareAnonymous bool
	// Countback is the number of non-system messages in the cache window.
	Countback int
	// MaxBody is the largest request body parsed; larger ones pass through
	// (Bypass).
	MaxBody int
	// MaxValues bounds the JSON values of a request body semproc parses
	// (DefaultMaxValues when zero); a body with more is a Bypass, so a
	// body of many tiny messages cannot cost seconds and hundreds of MiB.
	MaxValues int
	// MaxCapture is the largest response body captured for storing.
	MaxCapture int
	// LookupTimeout bounds the routing and cache work of one request, so
	// Envoy's message timeout is never reached.
	LookupTimeout time.Duration
	// StoreTimeout bounds one background write of a completion.
	StoreTimeout time.Duration
	Logger       *slog.Logger
	Tracer       trace.Tracer
	// Propagator reads the trace context Envoy forwards in the request
	// headers; W3C traceparent/tracestate when nil.
	Propagator propagation.TextMapPropagator
	Metrics    *Metrics
}

// DefaultMaxValues is the parse budget when Options.MaxValues is zero: far
// above any conversation, far below what a hostile 16 MiB body holds.
const DefaultMaxValues = 100_000

// Server is the ExternalProcessor gRPC service.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	o Options
	// writes tracks background stores, so shutdown and tests can wait for
	// them.
	writes sync.WaitGroup
	// warns rate-limits the WARN lines of swallowed failures.
	warns *logLimiter
}

// New checks the options and returns a Server.
func New(o Options) (*Server, error) {
	var errs []error
	if o.Formats == (Formats{}) {
		errs = append(errs, errors.New("extproc: no API format configured"))
	}
	if o.Router != nil && o.ModelHeader == "" {
		errs = append(errs, errors.New("extproc: routing needs a model header"))
	}
	if o.MaxBody <= 0 || o.MaxCapture <= 0 {
		errs = append(errs, errors.New("extproc: MaxBody and MaxCapture must be positive"))
	}
	if o.LookupTimeout <= 0 || o.StoreTimeout <= 0 {
		errs = append(errs, errors.New("extproc: LookupTimeout and StoreTimeout must be positive"))
	}
	if o.MaxValues == 0 {
		o.MaxValues = DefaultMaxValues
	}
	if o.MaxValues < 0 {
		errs = append(errs, errors.New("extproc: MaxValues must not be negative"))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider().Tracer("semproc")
	}
	if o.Propagator == nil {
		o.Propagator = propagation.TraceContext{}
	}
	if o.Metrics == nil {
		o.Metrics = NopMetrics()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Server{o: o, warns: newLogLimiter()}, nil
}

// Process serves one HTTP request's stream: one reply (or, in
// FULL_DUPLEX_STREAMED, the replies the state machine decides) per message,
// in order. A client that goes away ends it quietly. An immediate response
// ends the stream: Envoy sends nothing more after it, and nothing may be
// answered after it.
func (s *Server) Process(srv extprocv3.ExternalProcessor_ProcessServer) error {
	st := newStream(srv.Context(), s)
	defer st.finish()
	for {
		req, err := srv.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("receive: %w", err)
		}
		for _, resp := range st.handleSafely(req) {
			if err := srv.Send(resp); err != nil {
				if status.Code(err) == codes.Canceled || errors.Is(err, io.EOF) {
					return nil
				}
				return fmt.Errorf("send: %w", err)
			}
			if resp.GetImmediateResponse() != nil {
				return nil
			}
		}
	}
}

// WaitForWrites blocks until the background stores started so far are
// done, or ctx ends.
func (s *Server) WaitForWrites(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.writes.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
