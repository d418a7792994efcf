package vecmath

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// Sign codes: one bit a dimension, the sign of the vector after a fixed
// pseudo-random rotation. After a random rotation two vectors at angle θ
// differ in each bit with probability θ/π, whatever the data's own axes, so
// the Hamming distance of two codes estimates their angle (SimHash) from
// 1/32 of the float32 bytes. It is an estimate, not a bound: callers keep
// a generous margin around it and rescore what passes.

// Words is how many uint64 a sign code of dims dimensions takes: whole
// 256-bit blocks for the assembly, the bits past dims zero.
func Words(dims int) int { return (dims + 255) / 256 * 4 }

// rotationRounds of random signs then Hadamard transforms mix every
// dimension into every other several times over.
const rotationRounds = 3

// Rotation is a fixed orthogonal transform of dims dimensions: rounds of
// random sign flips, each followed by normalised Walsh–Hadamard transforms
// of the first and of the last p dimensions (p the largest power of two
// not above dims; the two overlap unless dims is a power of two). The same
// dims always give the same rotation. Safe for concurrent use.
type Rotation struct {
	dims, p int
	signs   [rotationRounds][]float32
}

// NewRotation returns the rotation of dims dimensions (dims ≥ 1).
func NewRotation(dims int) *Rotation {
	r := &Rotation{dims: dims, p: 1 << (bits.Len(uint(dims)) - 1)}
	rng := rand.New(rand.NewPCG(uint64(dims), 0x5e1f))
	for i := range r.signs {
		r.signs[i] = make([]float32, dims)
		for j := range r.signs[i] {
			r.signs[i][j] = float32(rng.IntN(2)*2 - 1)
		}
	}
	return r
}

// SignCode writes the sign code of v (len(v) = dims) into dst (Words(dims)
// words): bit j of the code is set when coordinate j of the rotated v is
// positive.
func (r *Rotation) SignCode(dst []uint64, v []float32) {
	clear(dst[:Words(r.dims)])
	for j, c := range r.rotate(v) {
		if c > 0 {
			dst[j/64] |= 1 << (j % 64)
		}
	}
}

// rotate returns v rotated, in a new slice.
func (r *Rotation) rotate(v []float32) []float32 {
	x := make([]float32, r.dims)
	copy(x, v)
	scale := float32(1 / math.Sqrt(float64(r.p)))
	for _, s := range r.signs {
		for j := range x {
			x[j] *= s[j]
		}
		hadamard(x[:r.p], scale)
		if r.p < r.dims {
			hadamard(x[r.dims-r.p:], scale)
		}
	}
	return x
}

// hadamard applies the Walsh–Hadamard transform to x (len(x) a power of
// two) in place, times scale (1/√len(x) keeps it orthogonal).
func hadamard(x []float32, scale float32) {
	n := len(x)
	h := 1
	if n >= 4 { // the first two passes at once, four by four, scaled
		for i := 0; i+4 <= n; i += 4 {
			a0, a1, a2, a3 := x[i], x[i+1], x[i+2], x[i+3]
			b0, b1, b2, b3 := a0+a1, a0-a1, a2+a3, a2-a3
			x[i], x[i+1], x[i+2], x[i+3] = (b0+b2)*scale, (b1+b3)*scale, (b0-b2)*scale, (b1-b3)*scale
		}
		h, scale = 4, 1
	}
	for ; h < n; h *= 2 {
		for i := 0; i < n; i += 2 * h {
			butterfly(x[i:i+h], x[i+h:i+2*h])
		}
	}
	if scale != 1 {
		for j := range x {
			x[j] *= scale
		}
	}
}

// Hamming sets out[i] to the number of bits in which code row i,
// codes[i*words:(i+1)*words], differs from q[:words], for every i < len(out).
func Hamming(codes []uint64, words int, q []uint64, out []int32) {
	if len(out) == 0 || words == 0 {
		clear(out)
		return
	}
	hamming(codes[:len(out)*words], words, q[:words], out)
}

func hammingGeneric(codes []uint64, words int, q []uint64, out []int32) {
	for i := range out {
		row := codes[i*words : (i+1)*words]
		var d int
		for j, w := range row {
			d += bits.OnesCount64(w ^ q[j])
		}
		out[i] = int32(d)
	}
}

// butterflyGeneric sets a[j], b[j] to a[j]+b[j], a[j]−b[j] (len(a) = len(b)).
func butterflyGeneric(a, b []float32) {
	b = b[:len(a)]
	for j := range a {
		a[j], b[j] = a[j]+b[j], a[j]-b[j]
	}
}
