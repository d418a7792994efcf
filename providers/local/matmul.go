package local

import "github.com/semproc/semproc/semantic/vecmath"

// gemm sets c (m×n) to a (m×k) times b (k×n), all row-major and contiguous.
//
// The loop runs over k in steps of four and, inside, over the rows of a, so
// each group of four rows of b is read from memory once and then served from
// L1 for every row of c. With the few rows of a short prompt the products are
// bound by reading the weights, and this order reads them once per call.
func gemm(m, n, k int, a, b, c []float32) {
	clear(c[:m*n])
	var alpha [4]float32
	p := 0
	for ; p+4 <= k; p += 4 {
		for i := range m {
			copy(alpha[:], a[i*k+p:i*k+p+4])
			vecmath.Axpy4(c[i*n:(i+1)*n], b[p*n:], n, &alpha)
		}
	}
	for ; p < k; p++ {
		row := b[p*n : (p+1)*n]
		for i := range m {
			axpy1(c[i*n:(i+1)*n], row, a[i*k+p])
		}
	}
}

func axpy1(c, b []float32, alpha float32) {
	b = b[:len(c)]
	for j := range c {
		c[j] += alpha * b[j]
	}
}
