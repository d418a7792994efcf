package semantic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBreakerOpen is returned, at once, for calls to a dependency whose
// breaker is open: it failed repeatedly and is not asked again until a probe
// succeeds.
var ErrBreakerOpen = errors.New("circuit breaker open: the dependency failed repeatedly; skipped until a probe succeeds")

// ErrDegenerate is a vector with no direction (all zero, NaN or infinite):
// a broken answer, never cached and counted as a failure.
var ErrDegenerate = errors.New("embeddings: vector has no direction (zero or not finite)")

// Breaker states, as /readyz shows them.
const (
	BreakerClosed = "closed"
	BreakerOpen   = "open"
)

// Failure kinds: what a breaker says about the last failure, never the
// dependency's own error text (it may carry URLs, keys or prompts).
const (
	FailureTimeout    = "timeout"
	FailureDegenerate = "degenerate_vector"
	FailureDimension  = "wrong_dimension"
	FailureError      = "error"
)

// BreakerOptions configure a Breaker.
type BreakerOptions struct {
	// Name is the dependency's, for the log; Logger says when the breaker
	// opens and closes (discarded when nil).
	Name   string
	Logger *slog.Logger
	// Failures in a row, each within Window of the previous one, open the
	// breaker.
	Failures int
	Window   time.Duration
	// Cooldown is the wait after opening (or after a failed probe) before
	// the next probe.
	Cooldown time.Duration
	// Probe checks the dependency off the request path; its success closes
	// the breaker. It runs under ProbeTimeout.
	Probe        func(ctx context.Context) error
	ProbeTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Breaker is a circuit breaker for one dependency: after Failures failures
// in a row it opens, and calls fail at once with ErrBreakerOpen instead of
// waiting out the dependency's timeout. While open, the first call after
// each Cooldown starts one background probe; the probe's success closes it.
// No request ever waits for a probe. It is safe for concurrent use.
type Breaker struct {
	o BreakerOptions
	// healthy is set, under mu, while the breaker is closed with no failure
	// counted: then a call takes no lock, so requests to a healthy
	// dependency never wait for one another.
	healthy atomic.Bool

	mu          sync.Mutex
	failures    int
	lastFailure time.Time
	lastKind    string
	openUntil   time.Time // zero while closed
	open        bool
	probing     bool
}

// BreakerState is a breaker's state for /readyz.
type BreakerState struct {
	State string `json:"breaker"`
	// Failures counts the failures in a row so far.
	Failures int `json:"consecutive_failures"`
	// LastFailure is the kind of the last failure, empty when none.
	LastFailure string `json:"last_failure,omitempty"`
}

// NewBreaker checks the options and returns a closed Breaker.
func NewBreaker(o BreakerOptions) (*Breaker, error) {
	var errs []error
	if o.Failures < 1 {
		errs = append(errs, fmt.Errorf("breaker: failures %d must be at least 1", o.Failures))
	}
	if o.Window <= 0 || o.Cooldown <= 0 || o.ProbeTimeout <= 0 {
		errs = append(errs, errors.New("breaker: window, cooldown and probe timeout must be positive"))
	}
	if o.Probe == nil {
		errs = append(errs, errors.New("breaker: a probe is required"))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	b := &Breaker{o: o}
	b.healthy.Store(true)
	return b, nil
}

// ErrBudget is the cause of a context whose deadline is semproc's own time
// budget for dependency calls (the lookup and store timeouts): running out
// of it is the dependency's failure. Set it with context.WithTimeoutCause.
var ErrBudget = errors.New("semproc's time budget for the dependency ran out")

// Do runs call unless the breaker is open, and records how it went. A call
// ended because its caller went away (cancelled, or past a deadline of the
// caller's own, such as a gRPC client's) says nothing about the dependency
// and is not counted; one that ran out of semproc's budget (ErrBudget) is.
func (b *Breaker) Do(ctx context.Context, call func(context.Context) error) error {
	if b.rejects(ctx) {
		return ErrBreakerOpen
	}
	err := call(ctx)
	if err != nil && ctx.Err() != nil && !errors.Is(context.Cause(ctx), ErrBudget) {
		return err
	}
	b.record(err)
	return err
}

// rejects reports whether the breaker is open, starting a probe when one
// is due.
func (b *Breaker) rejects(ctx context.Context) bool {
	if b.healthy.Load() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return false
	}
	if !b.probing && !b.o.Now().Before(b.openUntil) {
		b.probing = true
		go b.probe(context.WithoutCancel(ctx))
	}
	return true
}

func (b *Breaker) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, b.o.ProbeTimeout)
	defer cancel()
	err := b.o.Probe(ctx)
	// The probe ends and its result counts in one step: a request in
	// between would see no probe running and the cooldown of before it,
	// and start another.
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	b.recordLocked(err)
}

func (b *Breaker) record(err error) {
	if err == nil && b.healthy.Load() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recordLocked(err)
}

// recordLocked counts a call's result; b.mu is held.
func (b *Breaker) recordLocked(err error) {
	defer func() { b.healthy.Store(!b.open && b.failures == 0) }()
	now := b.o.Now()
	if err == nil {
		if b.open {
			b.o.Logger.Info("circuit breaker closed: the dependency answers again", "dependency", b.o.Name)
		}
		b.failures, b.open, b.lastKind = 0, false, ""
		return
	}
	if b.failures > 0 && now.Sub(b.lastFailure) > b.o.Window {
		b.failures = 0
	}
	b.failures++
	b.lastFailure, b.lastKind = now, FailureKind(err)
	if !b.open && b.failures >= b.o.Failures {
		b.o.Logger.Warn("circuit breaker opened: requests skip the dependency (Failed) until a probe succeeds",
			"dependency", b.o.Name, "failures", b.failures, "last_failure", b.lastKind, "probe_every", b.o.Cooldown)
	}
	if b.open || b.failures >= b.o.Failures {
		b.open, b.openUntil = true, now.Add(b.o.Cooldown)
	}
}

// State reports the breaker's state.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := BreakerState{State: BreakerClosed, Failures: b.failures, LastFailure: b.lastKind}
	if b.open {
		s.State = BreakerOpen
	}
	return s
}

// FailureKind classifies a dependency error without its text.
func FailureKind(err error) string {
	var timeout interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		return FailureTimeout
	case errors.Is(err, ErrDegenerate):
		return FailureDegenerate
	case errors.Is(err, ErrDimension):
		return FailureDimension
	}
	return FailureError
}
