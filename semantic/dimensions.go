package semantic

import (
	"fmt"
	"sync"
)

// DefaultRelearnAfter is how many healthy answers in a row of one new size
// make a learned dimension change.
const DefaultRelearnAfter = 3

// DimensionsOptions configure Dimensions.
type DimensionsOptions struct {
	// Pinned, when positive, is the only size accepted
	// (SEMPROC_EMBEDDINGS_DIMENSIONS, or a built-in model's).
	Pinned int
	// RelearnAfter healthy answers in a row of one other size replace a
	// learned size; DefaultRelearnAfter when 0.
	RelearnAfter int
	// OnChange is called, outside any lock, each time the size is learned
	// or re-learned: the store namespace and every vector of the old size
	// must follow.
	OnChange func(dims int)
}

// Dimensions knows the size of the embeddings: pinned, or learned from
// healthy answers only. A provider that changes size for good (a new model
// behind the same URL) is followed once it answers the new size
// consistently; a single odd answer is rejected and changes nothing.
type Dimensions struct {
	o DimensionsOptions

	mu        sync.Mutex
	current   int
	candidate int
	streak    int
}

// NewDimensions returns Dimensions; a pinned size is known at once.
func NewDimensions(o DimensionsOptions) *Dimensions {
	if o.RelearnAfter <= 0 {
		o.RelearnAfter = DefaultRelearnAfter
	}
	return &Dimensions{o: o, current: max(o.Pinned, 0)}
}

// Get returns the known size, 0 while it is unknown.
func (d *Dimensions) Get() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current
}

// Check accepts a healthy vector's size n, learning it when none is known
// yet, or returns ErrDimension.
func (d *Dimensions) Check(n int) error {
	changed, err := d.check(n)
	if changed && d.o.OnChange != nil {
		d.o.OnChange(n)
	}
	return err
}

func (d *Dimensions) check(n int) (changed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case n == d.current:
		d.streak = 0
		return false, nil
	case d.o.Pinned > 0:
		return false, fmt.Errorf("embeddings: got %d dimensions, want %d: %w", n, d.o.Pinned, ErrDimension)
	case d.current == 0:
		d.current = n
		return true, nil
	}
	if n != d.candidate {
		d.candidate, d.streak = n, 0
	}
	d.streak++
	if d.streak >= d.o.RelearnAfter {
		d.current, d.candidate, d.streak = n, 0, 0
		return true, nil
	}
	return false, fmt.Errorf("embeddings: got %d dimensions, want %d (%d more answers of %d re-learn it): %w",
		n, d.current, d.o.RelearnAfter-d.streak, n, ErrDimension)
}
