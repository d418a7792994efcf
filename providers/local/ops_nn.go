package local

import (
	"fmt"
	"slices"
)

// Matrix products and the ops built on them. All of them end in gemm.

func matMul(transA, transB bool) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		a, b := in[0], in[1]
		if a.rank() != 2 || b.rank() != 2 {
			return nil, fmt.Errorf("MatMul of %v and %v", a.shape, b.shape)
		}
		out, err := batchMatMulTensors(a, b, transA, transB)
		if err != nil {
			return nil, err
		}
		return []*tensor{out}, nil
	}
}

func batchMatMul(adjX, adjY bool) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		out, err := batchMatMulTensors(in[0], in[1], adjX, adjY)
		if err != nil {
			return nil, err
		}
		return []*tensor{out}, nil
	}
}

// transposeLast2 swaps the two innermost axes.
func transposeLast2(x *tensor) *tensor {
	perm := make([]int, x.rank())
	for k := range perm {
		perm[k] = k
	}
	r := x.rank()
	perm[r-2], perm[r-1] = r-1, r-2
	return transposeTensor(x, perm)
}

// batchMatMulTensors multiplies the innermost matrices of a and b, whose
// batch dimensions must be equal.
func batchMatMulTensors(a, b *tensor, transA, transB bool) (*tensor, error) {
	if a.dt != float32T || b.dt != float32T || a.rank() < 2 || a.rank() != b.rank() ||
		!slices.Equal(a.shape[:a.rank()-2], b.shape[:b.rank()-2]) {
		return nil, fmt.Errorf("cannot multiply %s%v and %s%v", a.dt, a.shape, b.dt, b.shape)
	}
	if transA {
		a = transposeLast2(a)
	}
	if transB {
		b = transposeLast2(b)
	}
	r := a.rank()
	m, k, n := a.shape[r-2], a.shape[r-1], b.shape[r-1]
	if b.shape[r-2] != k {
		return nil, fmt.Errorf("cannot multiply %v and %v", a.shape, b.shape)
	}
	shape := append(slices.Clone(a.shape[:r-2]), m, n)
	out := newFloat(shape)
	for batch := range numElements(a.shape[:r-2]) {
		gemm(m, n, k, a.f[batch*m*k:(batch+1)*m*k], b.f[batch*k*n:(batch+1)*k*n], out.f[batch*m*n:(batch+1)*m*n])
	}
	return out, nil
}

// conv2D handles the graph's only kind of convolution: a 1×1 kernel with
// unit strides and dilations over NHWC input, which is a matrix product
// over the channels. The loader checks the attributes.
func conv2D(in []*tensor) ([]*tensor, error) {
	x, f := in[0], in[1]
	if x.rank() != 4 || f.rank() != 4 || f.shape[0] != 1 || f.shape[1] != 1 || f.shape[2] != x.shape[3] {
		return nil, fmt.Errorf("unsupported convolution of %v by %v", x.shape, f.shape)
	}
	if x.dt != float32T || f.dt != float32T {
		return nil, fmt.Errorf("convolution of %s by %s", x.dt, f.dt)
	}
	cin, cout := f.shape[2], f.shape[3]
	rows := x.size() / max(cin, 1)
	out := newFloat([]int{x.shape[0], x.shape[1], x.shape[2], cout})
	gemm(rows, cout, cin, x.f, f.f, out.f)
	return []*tensor{out}, nil
}

func biasAdd(in []*tensor) ([]*tensor, error) {
	x, bias := in[0], in[1]
	if x.dt != float32T || bias.dt != float32T || bias.rank() != 1 || x.rank() == 0 ||
		x.shape[x.rank()-1] != bias.shape[0] {
		return nil, fmt.Errorf("BiasAdd of %s%v and %s%v", x.dt, x.shape, bias.dt, bias.shape)
	}
	out := newFloat(x.shape)
	n := bias.shape[0]
	for r := 0; r < len(x.f); r += n {
		dst, src := out.f[r:r+n], x.f[r:r+n]
		for k, v := range bias.f {
			dst[k] = src[k] + v
		}
	}
	return []*tensor{out}, nil
}
