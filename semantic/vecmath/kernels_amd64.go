package vecmath

// useAVX tells whether the CPU and the OS run the assembly kernels, which
// need AVX2 and FMA3 (every x86-64 server since 2013). Set once, at start.
var useAVX = detectAVX2FMA()

func detectAVX2FMA() bool {
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
		avx2    = 1 << 5
		ymmOS   = 0b110 // the OS saves the XMM and YMM registers
	)
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx || xgetbv()&ymmOS != ymmOS {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&avx2 != 0
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() uint32

// dotAVX is dotGeneric with four 8-wide fused multiply-add accumulators.
//
//go:noescape
func dotAVX(a, b *float32, n int) float32

// dotsInt8AVX is dotsInt8Generic for a stride that is a multiple of 16:
// codes are sign-extended to int16 and multiplied pairwise into int32 sums.
//
//go:noescape
func dotsInt8AVX(codes *int8, q *int16, stride, rows int, out *int32)

// axpy4AVX is axpy4Generic with AVX2 fused multiply-adds. b must hold
// 3*ldb+n elements.
//
//go:noescape
func axpy4AVX(c, b *float32, ldb int, a *[4]float32, n int)

// butterflyAVX is butterflyGeneric for n a multiple of 8.
//
//go:noescape
func butterflyAVX(a, b *float32, n int)

// hammingAVX is hammingGeneric for words a multiple of 4.
//
//go:noescape
func hammingAVX(codes, q *uint64, words, rows int, out *int32)

// dot, dotsInt8, axpy4, butterfly and hamming run the assembly when the CPU can; their callers
// have checked the lengths.
func dot(a, b []float32) float32 {
	if !useAVX {
		return dotGeneric(a, b)
	}
	return dotAVX(&a[0], &b[0], len(a))
}

func dotsInt8(codes []int8, stride int, q []int16, out []int32) {
	if !useAVX || stride%CodeAlign != 0 {
		dotsInt8Generic(codes, stride, q, out)
		return
	}
	dotsInt8AVX(&codes[0], &q[0], stride, len(out), &out[0])
}

func axpy4(c, b []float32, ldb int, a *[4]float32) {
	if !useAVX {
		axpy4Generic(c, b, ldb, a)
		return
	}
	axpy4AVX(&c[0], &b[0], ldb, a, len(c))
}

func butterfly(a, b []float32) {
	if !useAVX || len(a)%8 != 0 {
		butterflyGeneric(a, b)
		return
	}
	butterflyAVX(&a[0], &b[0], len(a))
}

func hamming(codes []uint64, words int, q []uint64, out []int32) {
	if !useAVX || words%4 != 0 {
		hammingGeneric(codes, words, q, out)
		return
	}
	hammingAVX(&codes[0], &q[0], words, len(out), &out[0])
}
