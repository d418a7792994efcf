package vecmath

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

// The lengths straddle every step of the assembly loops (32, 16, 8, 1).
var lengths = []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 100, 384, 512, 1536}

// TestDotKernels checks the kernel in use (assembly on amd64 with AVX2)
// against the pure-Go one and against a float64 sum.
func TestDotKernels(t *testing.T) {
	t.Logf("assembly kernels in use: %v", useAVX)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths {
		a, b := randomFloats(r, n), randomFloats(r, n+3)
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
		}
		got, generic := Dot(a, b), dotGeneric(a, b)
		if math.Abs(float64(got)-want) > 1e-4 || math.Abs(float64(generic)-want) > 1e-4 {
			t.Errorf("n=%d: Dot %g, pure Go %g, want %g", n, got, generic, want)
		}
	}
	if Dot(nil, nil) != 0 {
		t.Error("empty dot product is not 0")
	}
}

func TestDotsInt8Kernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, dims := range lengths {
		stride := Stride(dims)
		const rows = 5
		codes := make([]int8, rows*stride+7) // a ragged tail the scan must not read
		for i := range codes {
			codes[i] = int8(r.IntN(255) - 127)
		}
		q := QuantizeQuery(randomFloats(r, dims), stride)
		for j := range q.Codes { // the extremes, where pair sums are largest
			if j%3 == 0 {
				q.Codes[j] = int16(r.IntN(2)*2-1) * 4095
			}
		}
		got, want := make([]int32, rows+1), make([]int32, rows+1)
		got[rows], want[rows] = -1, -1
		DotsInt8(codes, stride, q.Codes, got[:rows])
		dotsInt8Generic(codes[:rows*stride], stride, q.Codes, want[:rows])
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("dims=%d: row %d = %d, pure Go %d", dims, i, got[i], want[i])
			}
		}
	}
}

// TestQuantizedErrorBound checks the bound the store relies on to rescore
// exactly: |q·v − qs·vs·Σ codes| ≤ ‖q‖·v.Residual + q.Residual·v.Norm.
func TestQuantizedErrorBound(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, dims := range []int{3, 64, 384, 1536, 5000} {
		stride := Stride(dims)
		for range 50 {
			v, qv := randomFloats(r, dims), randomFloats(r, dims)
			if r.IntN(4) == 0 {
				v[r.IntN(dims)] = 40 // one outlier coarsens every other code
			}
			codes := make([]int8, stride)
			vq := QuantizeInt8(codes, v)
			q := QuantizeQuery(qv, stride)
			sum := make([]int32, 1)
			DotsInt8(codes, stride, q.Codes, sum)
			approx := float64(q.Scale) * float64(vq.Scale) * float64(sum[0])
			var exact, qnorm float64
			for i := range v {
				exact += float64(v[i]) * float64(qv[i])
				qnorm += float64(qv[i]) * float64(qv[i])
			}
			bound := math.Sqrt(qnorm)*float64(vq.Residual) + float64(q.Residual)*float64(vq.Norm)
			if err := math.Abs(exact - approx); err > bound*(1+1e-5)+1e-6 {
				t.Fatalf("dims=%d: error %g beyond the bound %g", dims, err, bound)
			}
		}
	}
	zero := make([]int8, 16)
	if got := QuantizeInt8(zero, make([]float32, 16)); got != (Quantized{}) {
		t.Errorf("zero vector quantised to %+v", got)
	}
}

// TestAxpy4Kernels checks the kernel in use against the pure-Go one, for
// lengths around the 16- and 8-wide steps.
func TestAxpy4Kernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths {
		ldb := n + 5
		b := randomFloats(r, 3*ldb+n)
		a := [4]float32{r.Float32(), -r.Float32(), r.Float32(), 0.5}
		c := randomFloats(r, n+2)
		got := append([]float32(nil), c...)
		want := append([]float32(nil), c...)
		Axpy4(got[:n], b, ldb, &a)
		axpy4Generic(want[:n], b, ldb, &a)
		for k := range got {
			// Fused multiply-adds round once where Go rounds twice.
			if math.Abs(float64(got[k]-want[k])) > 1e-5 {
				t.Fatalf("n=%d: element %d = %g, pure Go %g", n, k, got[k], want[k])
			}
		}
		if got[n] != c[n] || got[n+1] != c[n+1] {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}

// BenchmarkKernels runs each kernel over 256 rows of 1536 dimensions (the
// store's largest block), in the kernel in use and in pure Go, and the
// sign code of one vector (its rotation).
func BenchmarkKernels(b *testing.B) {
	const rows, dims = 256, 1536
	r := rand.New(rand.NewPCG(7, 8))
	flat := randomFloats(r, rows*dims)
	codes := make([]int8, rows*dims)
	for i := range rows {
		QuantizeInt8(codes[i*dims:(i+1)*dims], flat[i*dims:(i+1)*dims])
	}
	q := randomFloats(r, dims)
	qc := QuantizeQuery(q, dims)
	out := make([]int32, rows)
	rot := NewRotation(dims)
	signs, qsigns := make([]uint64, rows*Words(dims)), make([]uint64, Words(dims))
	for i := range rows {
		rot.SignCode(signs[i*Words(dims):], flat[i*dims:(i+1)*dims])
	}
	rot.SignCode(qsigns, q)
	for _, k := range []struct {
		name  string
		bytes int
		run   func()
	}{
		{"dot", 4 * rows * dims, func() {
			for i := range rows {
				out[i] = int32(Dot(q, flat[i*dims:(i+1)*dims]))
			}
		}},
		{"dot/purego", 4 * rows * dims, func() {
			for i := range rows {
				out[i] = int32(dotGeneric(q, flat[i*dims:(i+1)*dims]))
			}
		}},
		{"int8", rows * dims, func() { DotsInt8(codes, dims, qc.Codes, out) }},
		{"int8/purego", rows * dims, func() { dotsInt8Generic(codes, dims, qc.Codes, out) }},
		{"hamming", rows * dims / 8, func() { Hamming(signs, Words(dims), qsigns, out) }},
		{"hamming/purego", rows * dims / 8, func() { hammingGeneric(signs, Words(dims), qsigns, out) }},
		{"signcode", 4 * dims, func() { rot.SignCode(qsigns, q) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(k.bytes))
			for b.Loop() {
				k.run()
			}
		})
	}
	// The int8 scan from every core at once, each on its own output: with
	// -cpu 1,2 it shows what a second core adds with no lock anywhere.
	b.Run("int8/parallel", func(b *testing.B) {
		b.SetBytes(rows * dims)
		b.RunParallel(func(pb *testing.PB) {
			own := make([]int32, rows)
			for pb.Next() {
				DotsInt8(codes, dims, qc.Codes, own)
			}
		})
	})
}
