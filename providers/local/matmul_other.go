//go:build !amd64

package local

func axpy4(c, b []float32, ldb int, a *[4]float32) {
	axpy4Generic(c, b, ldb, a)
}
