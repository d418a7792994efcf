package local

import "golang.org/x/sys/cpu"

// hasFMA tells whether the CPU runs the assembly kernel, which needs AVX2
// and FMA3 (every x86-64 server since 2013 has them).
func hasFMA() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// axpy4AVX is axpy4Generic with AVX2 fused multiply-adds. len(c) is n; b
// must hold 3*ldb+n elements.
//
//go:noescape
func axpy4AVX(c, b *float32, ldb int, a *[4]float32, n int)

func axpy4(c, b []float32, ldb int, a *[4]float32) {
	n := len(c)
	if n == 0 {
		return
	}
	if !hasFMA() {
		axpy4Generic(c, b, ldb, a)
		return
	}
	_ = b[3*ldb+n-1] // bounds check once, for the assembly
	axpy4AVX(&c[0], &b[0], ldb, a, n)
}
