//go:build !amd64

package vecmath

// Only amd64 has assembly kernels: elsewhere the pure-Go ones run.

func dot(a, b []float32) float32 { return dotGeneric(a, b) }

func dotsInt8(codes []int8, stride int, q []int16, out []int32) {
	dotsInt8Generic(codes, stride, q, out)
}

func axpy4(c, b []float32, ldb int, a *[4]float32) { axpy4Generic(c, b, ldb, a) }

func butterfly(a, b []float32) { butterflyGeneric(a, b) }

func hamming(codes []uint64, words int, q []uint64, out []int32) {
	hammingGeneric(codes, words, q, out)
}
