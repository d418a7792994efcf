package semantic

import (
	"errors"
	"fmt"
	"math"
)

// routeVectors are the descriptions' unit vectors back to back: target i's
// are rows offsets[i] to offsets[i+1]-1, each dims long. One flat slice
// keeps the hot loop allocation-free and cache-friendly.
type routeVectors struct {
	dims    int
	vecs    []float32
	offsets []int
}

// queryNorm checks q against the descriptions and returns its length. q is
// not normalised in place, since the embeddings cache may share it: the
// distances divide by its length instead, which costs no allocation.
func (v *routeVectors) queryNorm(q []float32) (float64, error) {
	if len(q) != v.dims {
		return 0, fmt.Errorf("routing: text vector has %d dimensions, descriptions %d: %w", len(q), v.dims, ErrDimension)
	}
	var sum float64
	for _, x := range q {
		sum += float64(x) * float64(x)
	}
	if sum == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return 0, errors.New("routing: text vector has no direction (zero or not finite)")
	}
	return math.Sqrt(sum), nil
}

// distance is target i's cosine distance to q, that of its nearest
// description, and that description's index.
func (v *routeVectors) distance(i int, q []float32, qnorm float64) (float64, int) {
	best, which := math.Inf(1), 0
	for row := v.offsets[i]; row < v.offsets[i+1]; row++ {
		dot := routeDot(q, v.vecs[row*v.dims:(row+1)*v.dims])
		// Rounding can take a distance a hair outside [0, 2].
		dist := min(max(1-dot/qnorm, 0), 2)
		if dist < best {
			best, which = dist, row-v.offsets[i]
		}
	}
	return best, which
}

// routeDot is the dot product of two vectors of one length. Four
// accumulators break the chain of dependent additions, which would
// otherwise bound the loop's speed.
func routeDot(a, b []float32) float64 {
	b = b[:len(a)] // lets the compiler drop the bounds checks below
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}
