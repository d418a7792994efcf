package local

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randomFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for k := range v {
		v[k] = r.Float32()*2 - 1
	}
	return v
}

func TestGemmMatchesNaiveProduct(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// Shapes with and without whole 4×16 tiles, ragged rows and columns.
	for _, dims := range [][3]int{
		{1, 1, 1}, {3, 5, 7}, {7, 512, 256}, {2, 9, 6}, {5, 17, 3}, {4, 16, 1},
		{9, 48, 33}, {1, 512, 512}, {13, 40, 64}, {8, 16, 0}, {4, 15, 5},
	} {
		m, n, k := dims[0], dims[1], dims[2]
		a, b := randomFloats(r, m*k), randomFloats(r, k*n)
		c := randomFloats(r, m*n) // gemm must overwrite, not add
		gemm(m, n, k, a, b, c)
		for i := range m {
			for j := range n {
				want := 0.0
				for p := range k {
					want += float64(a[i*k+p]) * float64(b[p*n+j])
				}
				if math.Abs(float64(c[i*n+j])-want) > 1e-4 {
					t.Fatalf("%v: c[%d,%d] = %g, want %g", dims, i, j, c[i*n+j], want)
				}
			}
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 8, 1536, 512
	x, w, c := randomFloats(r, m*k), randomFloats(r, k*n), make([]float32, m*n)
	b.SetBytes(int64(4 * k * n))
	for b.Loop() {
		gemm(m, n, k, x, w, c)
	}
}

func BenchmarkGemm100(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 100, 1536, 512
	x, w, c := randomFloats(r, m*k), randomFloats(r, k*n), make([]float32, m*n)
	b.SetBytes(int64(4 * k * n))
	for b.Loop() {
		gemm(m, n, k, x, w, c)
	}
}
