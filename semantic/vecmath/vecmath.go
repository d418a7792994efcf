// Package vecmath holds the vector kernels semproc's hot loops share: the
// float32 dot product the stores rescore with, the int8 scan of quantised
// codes, and the multiply-add the local embeddings model's matrix products
// are built on. On amd64 with AVX2 and FMA they run in assembly; elsewhere,
// and as the reference the assembly is tested against, in pure Go.
//
// The package depends on nothing but the standard library, so both the
// domain (semantic) and the adapters (providers/local) may import it.
package vecmath

import "math"

// CodeAlign is the multiple every code row's stride must be for the
// assembly scan: rows are padded with zero codes up to it.
const CodeAlign = 16

// Stride is dims rounded up to CodeAlign.
func Stride(dims int) int { return (dims + CodeAlign - 1) / CodeAlign * CodeAlign }

// Dot is the dot product of a and b[:len(a)].
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	if len(a) == 0 {
		return 0
	}
	return dot(a, b)
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// DotsInt8 sets out[i] to the dot product of code row i, codes[i*stride:
// i*stride+stride], with q[:stride], for every i < len(out). The sums are
// exact as long as stride·127·max|q| fits in an int32 (QuantizeQuery keeps
// it so).
func DotsInt8(codes []int8, stride int, q []int16, out []int32) {
	if len(out) == 0 {
		return
	}
	dotsInt8(codes[:len(out)*stride], stride, q[:stride], out)
}

func dotsInt8Generic(codes []int8, stride int, q []int16, out []int32) {
	for i := range out {
		row := codes[i*stride : (i+1)*stride]
		var s int32
		for j, c := range row {
			s += int32(c) * int32(q[j])
		}
		out[i] = s
	}
}

// Quantized is what quantising a vector leaves beside its codes: code j
// stands for Scale·code, Residual is the exact norm of what the codes lose
// (‖v − Scale·codes‖) and Norm that of what they keep (‖Scale·codes‖).
// Together they bound the error of any dot product computed on the codes.
type Quantized struct {
	Scale, Residual, Norm float32
}

// QuantizeInt8 writes v's int8 codes into dst (len(dst) ≥ len(v); the rest
// of dst is zeroed) on one symmetric scale, max|v| ↦ 127.
func QuantizeInt8(dst []int8, v []float32) Quantized {
	scale := maxAbs(v) / 127
	clear(dst)
	var res, norm float64
	for i, x := range v {
		var c float64
		if scale > 0 {
			c = math.Round(float64(x) / scale)
		}
		dst[i] = int8(c)
		kept := c * scale
		res += (float64(x) - kept) * (float64(x) - kept)
		norm += kept * kept
	}
	return Quantized{Scale: float32(scale), Residual: float32(math.Sqrt(res)), Norm: float32(math.Sqrt(norm))}
}

// QueryCodes is a query quantised for DotsInt8: finer than the stored
// codes (int16), so the query's share of the error is small.
type QueryCodes struct {
	Codes []int16
	Quantized
}

// QuantizeQuery quantises v into stride int16 codes, as fine as DotsInt8's
// int32 sums allow for rows of stride int8 codes.
func QuantizeQuery(v []float32, stride int) QueryCodes {
	top := min(4095, math.MaxInt32/(127*max(stride, 1)))
	scale := maxAbs(v) / float64(top)
	q := QueryCodes{Codes: make([]int16, stride)}
	var res, norm float64
	for i, x := range v {
		var c float64
		if scale > 0 {
			c = math.Round(float64(x) / scale)
		}
		q.Codes[i] = int16(c)
		kept := c * scale
		res += (float64(x) - kept) * (float64(x) - kept)
		norm += kept * kept
	}
	q.Quantized = Quantized{Scale: float32(scale), Residual: float32(math.Sqrt(res)), Norm: float32(math.Sqrt(norm))}
	return q
}

func maxAbs(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// Axpy4 adds a[0]*b[0:n] + a[1]*b[ldb:ldb+n] + a[2]*b[2ldb:] + a[3]*b[3ldb:]
// to c[0:n], n = len(c), in that order for every element.
func Axpy4(c, b []float32, ldb int, a *[4]float32) {
	n := len(c)
	if n == 0 {
		return
	}
	_ = b[3*ldb+n-1] // bounds check once, for the assembly
	axpy4(c, b, ldb, a)
}

func axpy4Generic(c, b []float32, ldb int, a *[4]float32) {
	n := len(c)
	b0, b1, b2, b3 := b[:n], b[ldb:ldb+n], b[2*ldb:2*ldb+n], b[3*ldb:3*ldb+n]
	for j := range c {
		s := c[j]
		s += a[0] * b0[j]
		s += a[1] * b1[j]
		s += a[2] * b2[j]
		s += a[3] * b3[j]
		c[j] = s
	}
}
