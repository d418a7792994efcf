package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRotationIsOrthogonal checks the rotation keeps dot products (so
// angles) and norms, for sizes that are and are not powers of two.
func TestRotationIsOrthogonal(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, dims := range []int{1, 3, 64, 100, 384, 512, 768, 1536} {
		rot := NewRotation(dims)
		a, b := randomFloats(r, dims), randomFloats(r, dims)
		ra, rb := rot.rotate(a), rot.rotate(b)
		if got, want := float64(Dot(ra, rb)), float64(Dot(a, b)); math.Abs(got-want) > 1e-4*float64(dims) {
			t.Errorf("dims %d: rotated dot %g, want %g", dims, got, want)
		}
		if got, want := float64(Dot(ra, ra)), float64(Dot(a, a)); math.Abs(got-want) > 1e-4*float64(dims) {
			t.Errorf("dims %d: rotated squared norm %g, want %g", dims, got, want)
		}
	}
}

// TestSignCodeEstimatesAngle checks the SimHash property the store's
// pre-filter relies on: the Hamming distance of two codes is about
// dims·θ/π, even for vectors the data's own axes would hash badly
// (sparse ones, with most coordinates zero, and ones sharing a large
// common component).
func TestSignCodeEstimatesAngle(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const dims = 1536
	rot := NewRotation(dims)
	common := randomFloats(r, dims)
	for _, c := range []struct {
		name string
		make func() []float32
	}{
		{"dense", func() []float32 { return randomFloats(r, dims) }},
		{"sparse", func() []float32 {
			v := make([]float32, dims)
			for range 8 {
				v[r.IntN(dims)] = r.Float32()*2 - 1
			}
			return v
		}},
		{"shared component", func() []float32 {
			v := randomFloats(r, dims)
			for j := range v {
				v[j] = 3*common[j] + v[j]
			}
			return v
		}},
	} {
		var worst float64
		for range 50 {
			a, b := c.make(), c.make()
			theta := math.Acos(float64(Dot(a, b)) / math.Sqrt(float64(Dot(a, a))*float64(Dot(b, b))))
			ca, cb := make([]uint64, Words(dims)), make([]uint64, Words(dims))
			rot.SignCode(ca, a)
			rot.SignCode(cb, b)
			h := make([]int32, 1)
			Hamming(ca, Words(dims), cb, h)
			p := theta / math.Pi
			sigma := math.Sqrt(dims * p * (1 - p))
			worst = max(worst, math.Abs(float64(h[0])-dims*p)/max(sigma, 1))
		}
		if worst > 5 {
			t.Errorf("%s: a Hamming distance %.1f standard deviations from dims·θ/π", c.name, worst)
		}
	}
}

// TestHamming checks the kernel in use (assembly on amd64 with AVX2) and
// the pure-Go one against a count of the bits one by one.
func TestHamming(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, words := range []int{1, 2, 4, 6, 8, 24, 128} { // the assembly takes multiples of 4
		const rows = 7
		codes, q := make([]uint64, rows*words+3), make([]uint64, words)
		for i := range codes {
			codes[i] = r.Uint64()
		}
		for i := range q {
			q[i] = r.Uint64()
		}
		got, generic := make([]int32, rows), make([]int32, rows)
		Hamming(codes, words, q, got)
		hammingGeneric(codes[:rows*words], words, q, generic)
		for i := range rows {
			var want int32
			for j := range words * 64 {
				a, b := codes[i*words+j/64]>>(j%64)&1, q[j/64]>>(j%64)&1
				if a != b {
					want++
				}
			}
			if got[i] != want || generic[i] != want {
				t.Errorf("words %d row %d: %d bits differ (pure Go %d), want %d", words, i, got[i], generic[i], want)
			}
		}
	}
}
