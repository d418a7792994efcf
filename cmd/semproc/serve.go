package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/semproc/semproc/extproc"
	"github.com/semproc/semproc/semantic"
)

// listening is told the bound addresses once both listeners are up; tests
// use it with ":0" addresses.
type listening func(grpcAddr, adminAddr string)

func serve(ctx context.Context, environ []string, stdout io.Writer, up listening) error {
	getenv := getenvIn(environ)
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	for _, w := range unknownVariables(environ) {
		log.Warn(w)
	}
	token, err := readSecret(cfg.AdminToken, cfg.AdminTokenFile, "SEMPROC_ADMIN_TOKEN_FILE")
	if err != nil {
		return err
	}
	if cfg.AdminTokenFile != "" && token == "" {
		return &configError{errors.New("SEMPROC_ADMIN_TOKEN_FILE: the file is empty")}
	}
	tel, err := newTelemetry(ctx, getenv)
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	// Background work (store start-up checks, probes, route embedding)
	// lives until the process drains.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	c, err := build(bg, cfg, log, tel)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	metrics, err := extproc.NewMetrics(extproc.MetricsOptions{Meter: tel.meter, APIs: c.formats.APIs(), Models: c.models(), Prices: c.prices})
	if err == nil {
		err = registerGauges(tel.meter, c)
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	o := extproc.Options{
		Formats: c.formats, Cache: c.cache, ScopeHeaders: cfg.CacheScopeHeaders, ModelHeader: cfg.RoutingModelHeader,
		Countback: cfg.CacheMessageCountback, MaxBody: cfg.MaxRequestBytes, MaxValues: cfg.MaxRequestValues, MaxCapture: cfg.MaxResponseBytes,
		LookupTimeout: cfg.LookupTimeout, StoreTimeout: cfg.StoreTimeout, ShareAnonymous: cfg.CacheAnonymous == "shared",
		Logger: log, Tracer: tel.tracer, Metrics: metrics,
	}
	if c.router != nil {
		o.Router = c.router
	}
	ext, err := extproc.New(o)
	if err != nil {
		return err
	}

	var lc net.ListenConfig
	grpcLis, err := lc.Listen(ctx, "tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("SEMPROC_GRPC_ADDR: %w", err)
	}
	adminLis, err := lc.Listen(ctx, "tcp", cfg.AdminAddr)
	if err != nil {
		_ = grpcLis.Close()
		return fmt.Errorf("SEMPROC_ADMIN_ADDR: %w", err)
	}
	gs := newGRPCServer(cfg)
	extprocv3.RegisterExternalProcessorServer(gs, ext)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	var draining atomic.Bool
	setServing := func(ok bool) {
		s := healthpb.HealthCheckResponse_SERVING
		if !ok {
			s = healthpb.HealthCheckResponse_NOT_SERVING
		}
		hs.SetServingStatus("", s)
		hs.SetServingStatus(extprocv3.ExternalProcessor_ServiceDesc.ServiceName, s)
	}
	setServing(true)
	mux := adminMux(tel.metrics, &draining, c)
	if token != "" && c.cache != nil {
		routeCacheAdmin(mux, token, cacheAdminHandlers{store: c.store.adminStore, log: log.With("component", "admin")})
	}
	admin := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	errc := make(chan error, 2)
	go func() { errc <- gs.Serve(grpcLis) }()
	go func() { errc <- admin.Serve(adminLis) }()
	log.Info("semproc serving", "grpc", grpcLis.Addr().String(), "admin", adminLis.Addr().String(),
		"embeddings", cfg.EmbeddingsProvider, "vectordb", cfg.VectorDB, "cache", cfg.CacheEnabled, "routing", c.router != nil)
	if up != nil {
		up(grpcLis.Addr().String(), adminLis.Addr().String())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	// Drain: readiness fails first so Envoy and kubelet stop sending, then
	// open streams finish, then pending writes and telemetry flush.
	log.Info("draining", "delay", cfg.DrainDelay)
	draining.Store(true)
	setServing(false)
	if serveErr == nil {
		time.Sleep(cfg.DrainDelay)
	}
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(cfg.ShutdownTimeout):
		log.Warn("streams still open after the shutdown timeout; closing them")
		gs.Stop()
	}
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = errors.Join(ext.WaitForWrites(flush), admin.Shutdown(flush), tel.shutdown(flush))
	stopBG()
	log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && !errors.Is(serveErr, grpc.ErrServerStopped) {
		return serveErr
	}
	return err
}

// streamWorkers is how many goroutines serve streams and are kept between
// them (gRPC starts a new one per stream when they are all busy). A new
// goroutine grows its stack through the first message's decoding on every
// stream: profiled under pass-through load, that growth (runtime.morestack)
// took a tenth of the process's time.
const streamWorkers = 128

// newGRPCServer is tuned for Envoy: one long-lived HTTP/2 connection
// carries a stream per request, prompts can be many MiB, and idle
// connections are kept alive rather than re-dialled.
func newGRPCServer(cfg Config) *grpc.Server {
	// Envoy sends a request body, or a BUFFERED response body, in one
	// message; semproc sends back a rewritten request or a replayed hit,
	// which re-rendering (JSON as SSE, escapes) can make larger than what
	// was captured. Each gets headers and framing on top.
	recv := max(cfg.MaxRequestBytes, cfg.MaxResponseBytes) + 1<<20
	send := max(cfg.MaxRequestBytes, 2*cfg.MaxResponseBytes) + 1<<20
	return grpc.NewServer(
		grpc.NumStreamWorkers(streamWorkers),
		grpc.MaxRecvMsgSize(recv),
		grpc.MaxSendMsgSize(send),
		grpc.MaxConcurrentStreams(10_000),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		// Envoy pings idle connections; refusing its pings would make the
		// server close them with GOAWAY.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
}

func adminMux(metrics http.Handler, draining *atomic.Bool, c *components) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		// Ready as long as streams can be processed: a dependency that is
		// down is fail-open service, reported but not failing readiness.
		body := map[string]any{"status": "serving", "dependencies": c.dependencies()}
		code := http.StatusOK
		if draining.Load() {
			body["status"], code = "draining", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.Handle("GET /metrics", metrics)
	return mux
}

// dependency is one dependency's state in /readyz. It never carries a
// dependency's own error text (URLs, keys or prompts may be in it): only
// kinds.
type dependency struct {
	// State is ok, failing (failures, breaker still closed), open (requests
	// skip it: they are Failed until a probe succeeds), starting or
	// fallback (routing: the target descriptions are not embedded yet).
	State string `json:"state"`
	*semantic.BreakerState
	Dimensions int `json:"dimensions,omitempty"`
}

func breakerDependency(s semantic.BreakerState) dependency {
	d := dependency{State: "ok", BreakerState: &s}
	switch {
	case s.State == semantic.BreakerOpen:
		d.State = "open"
	case s.Failures > 0:
		d.State = "failing"
	}
	return d
}

// dependencies describe each dependency's state for /readyz.
func (c *components) dependencies() map[string]dependency {
	emb := breakerDependency(c.guarded.State())
	if emb.Dimensions = c.dims.Get(); emb.Dimensions == 0 && emb.State == "ok" {
		emb.State = "starting"
	}
	deps := map[string]dependency{"embeddings": emb}
	if c.cache != nil {
		st := breakerDependency(c.guardedStore.State())
		if err := c.store.ready(); err != nil && st.State == "ok" {
			st.State = "failing"
			if errors.Is(err, errStoreNotOpen) {
				st.State = "starting"
			}
		}
		deps["store"] = st
	}
	if c.router != nil {
		select {
		case <-c.router.Ready():
			deps["routing"] = dependency{State: "ok"}
		default:
			deps["routing"] = dependency{State: "fallback"}
		}
	}
	return deps
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	o := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		// For a person at a terminal: durations to three significant
		// digits (duration=14.2ms, not 14.238571ms). JSON keeps
		// nanoseconds, for machines.
		o.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.DurationValue(roundDuration(a.Value.Duration()))
			}
			return a
		}
		return slog.New(slog.NewTextHandler(w, o))
	}
	return slog.New(slog.NewJSONHandler(w, o))
}

// roundDuration keeps three significant digits: 215µs, 14.2ms, 1.23s.
func roundDuration(d time.Duration) time.Duration {
	unit := time.Duration(1)
	for x := d; x >= 1000 || x <= -1000; x /= 10 {
		unit *= 10
	}
	return d.Round(unit)
}
