package semantic

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func testBreakerOptions() BreakerOptions {
	return BreakerOptions{Failures: 2, Window: time.Minute, Cooldown: time.Hour, ProbeTimeout: time.Second}
}

func TestGuardedEmbedderRejectsBrokenAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		vec  []float32
		want error
	}{
		{"all zero", make([]float32, 4), ErrDegenerate},
		{"not finite", []float32{float32(math.Inf(1)), 1, 0, 0}, ErrDegenerate},
		{"wrong size", []float32{1, 0, 0}, ErrDimension},
		{"healthy", []float32{1, 0, 0, 0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGuardedEmbedder(GuardedEmbedderOptions{
				Next:       EmbedderFunc(func(context.Context, string) ([]float32, error) { return tc.vec, nil }),
				Dimensions: NewDimensions(DimensionsOptions{Pinned: 4}),
				Breaker:    testBreakerOptions(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.Embed(context.Background(), "x"); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestGuardedEmbedderOpensOnDegenerateVectors(t *testing.T) {
	calls := 0
	g, err := NewGuardedEmbedder(GuardedEmbedderOptions{
		Next:       EmbedderFunc(func(context.Context, string) ([]float32, error) { calls++; return make([]float32, 4), nil }),
		Dimensions: NewDimensions(DimensionsOptions{}),
		Breaker:    testBreakerOptions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _ = g.Embed(context.Background(), "x")
	}
	if s := g.State(); calls != 2 || s.State != BreakerOpen || s.LastFailure != FailureDegenerate {
		t.Errorf("%d calls, state %+v; want 2 calls and open on degenerate vectors", calls, s)
	}
}

func TestGuardedStoreSkipsADeadStore(t *testing.T) {
	s, err := NewGuardedStore(failingStore{}, testBreakerOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err1 := s.Get(ctx, Partition{}, "a")
	_, err2 := s.Search(ctx, Query{})
	err3 := s.Put(ctx, Entry{})
	if !errors.Is(err1, errStoreDown) || !errors.Is(err2, errStoreDown) || !errors.Is(err3, ErrBreakerOpen) {
		t.Errorf("errors %v, %v, %v; want two store errors, then the open breaker", err1, err2, err3)
	}
	if st := s.State(); st.State != BreakerOpen || st.LastFailure != FailureError {
		t.Errorf("state %+v", st)
	}
}
