package semantic

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestBreaker(t *testing.T, clock *fakeClock, probe func(context.Context) error) *Breaker {
	t.Helper()
	b, err := NewBreaker(BreakerOptions{Failures: 3, Window: 10 * time.Second, Cooldown: 5 * time.Second,
		Probe: probe, ProbeTimeout: time.Second, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFor polls a condition set by a background probe.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBreakerOpensAfterFailuresAndAProbeClosesIt(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	var probeErr = errStoreDown
	var probes sync.WaitGroup
	var mu sync.Mutex
	b := newTestBreaker(t, clock, func(context.Context) error {
		defer probes.Done()
		mu.Lock()
		defer mu.Unlock()
		return probeErr
	})
	ctx := context.Background()
	calls := 0
	fail := func(context.Context) error { calls++; return context.DeadlineExceeded }
	for range 3 {
		if err := b.Do(ctx, fail); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("closed breaker: %v", err)
		}
	}
	if s := b.State(); s.State != BreakerOpen || s.LastFailure != FailureTimeout {
		t.Fatalf("after 3 timeouts: %+v", s)
	}
	if err := b.Do(ctx, fail); !errors.Is(err, ErrBreakerOpen) || calls != 3 {
		t.Fatalf("open breaker: %v, %d calls (want ErrBreakerOpen without a call)", err, calls)
	}
	// After the cooldown a request triggers a probe but does not wait for
	// it; a failed probe keeps it open.
	clock.add(6 * time.Second)
	probes.Add(1)
	if err := b.Do(ctx, fail); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("probing breaker: %v", err)
	}
	probes.Wait()
	// The probe has returned; the breaker counts its failure after that.
	waitFor(t, "the failed probe to count", func() bool { return b.State().Failures == 4 })
	if s := b.State(); s.State != BreakerOpen {
		t.Fatalf("after a failed probe: %+v", s)
	}
	mu.Lock()
	probeErr = nil
	mu.Unlock()
	clock.add(6 * time.Second)
	probes.Add(1)
	_ = b.Do(ctx, fail)
	probes.Wait()
	waitFor(t, "the breaker to close", func() bool { return b.State().State == BreakerClosed })
	if err := b.Do(ctx, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("closed again: %v", err)
	}
}

func TestBreakerCounting(t *testing.T) {
	for _, tc := range []struct {
		name string
		// steps: "f" fails, "s" succeeds, "c" fails with the caller gone,
		// "d" past the caller's own deadline, "b" past semproc's budget
		// (ErrBudget), "w" waits past the window.
		steps string
		want  string
	}{
		{"three failures in a row", "fff", BreakerOpen},
		{"a success resets the count", "ffsff", BreakerClosed},
		{"failures spread beyond the window", "ffwf", BreakerClosed},
		{"callers that went away are not failures", "ffccc", BreakerClosed},
		{"a caller's own deadline is not a failure", "ffddd", BreakerClosed},
		{"running out of semproc's budget is", "fbb", BreakerOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1000, 0)}
			b := newTestBreaker(t, clock, func(context.Context) error { return nil })
			for _, s := range tc.steps {
				ctx := context.Background()
				var err = errStoreDown
				switch s {
				case 's':
					err = nil
				case 'c':
					c, cancel := context.WithCancel(ctx)
					cancel()
					ctx, err = c, context.Canceled
				case 'd', 'b':
					var cause error
					if s == 'b' {
						cause = ErrBudget
					}
					c, cancel := context.WithDeadlineCause(ctx, clock.now, cause)
					defer cancel()
					ctx, err = c, context.DeadlineExceeded
				case 'w':
					clock.add(11 * time.Second)
					continue
				}
				_ = b.Do(ctx, func(context.Context) error { return err })
			}
			if got := b.State().State; got != tc.want {
				t.Errorf("state %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFailureKindNeverCarriesText(t *testing.T) {
	for err, want := range map[error]string{
		context.DeadlineExceeded:                FailureTimeout,
		ErrDegenerate:                           FailureDegenerate,
		errors.Join(errStoreDown, ErrDimension): FailureDimension,
		errors.New("dial tcp 10.0.0.1: secret"): FailureError,
	} {
		if got := FailureKind(err); got != want {
			t.Errorf("FailureKind(%v) = %q, want %q", err, got, want)
		}
	}
}
