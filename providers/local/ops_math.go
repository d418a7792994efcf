package local

import (
	"fmt"
	"math"
)

// The float arithmetic follows TensorFlow.js's CPU backend, the reference:
// elementwise results are rounded to float32 one by one, transcendental
// functions and reductions are computed in float64.

type binaryKind uint8

const (
	opAdd binaryKind = iota
	opSub
	opMul
	opDiv
	opMaximum
	opLess
	opGreater
)

func binaryKindOf(op string) (binaryKind, bool) {
	switch op {
	case "Add":
		return opAdd, true
	case "Sub":
		return opSub, true
	case "Mul":
		return opMul, true
	case "RealDiv":
		return opDiv, true
	case "Maximum":
		return opMaximum, true
	case "Less":
		return opLess, true
	case "Greater":
		return opGreater, true
	}
	return 0, false
}

func binaryOp(kind binaryKind) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		a, b := in[0], in[1]
		if a.dt != b.dt || a.dt == boolT {
			return nil, fmt.Errorf("operands %s and %s", a.dt, b.dt)
		}
		shape, err := broadcastShape(a.shape, b.shape)
		if err != nil {
			return nil, err
		}
		var out *tensor
		if kind == opLess || kind == opGreater {
			out = newBool(shape)
		} else {
			out = newOfType(a.dt, shape)
		}
		sa, sb := broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)
		forEachRow(shape, sa, sb, func(o, ia, ib, incA, incB, n int) {
			if a.dt == float32T {
				floatRow(kind, out, o, a.f, b.f, ia, ib, incA, incB, n)
			} else {
				intRow(kind, out, o, a.i, b.i, ia, ib, incA, incB, n)
			}
		})
		return []*tensor{out}, nil
	}
}

func floatRow(kind binaryKind, out *tensor, o int, a, b []float32, ia, ib, incA, incB, n int) {
	for k := range n {
		x, y := a[ia+k*incA], b[ib+k*incB]
		switch kind {
		case opAdd:
			out.f[o+k] = x + y
		case opSub:
			out.f[o+k] = x - y
		case opMul:
			out.f[o+k] = x * y
		case opDiv:
			out.f[o+k] = x / y
		case opMaximum:
			out.f[o+k] = max(x, y)
		case opLess:
			out.b[o+k] = x < y
		case opGreater:
			out.b[o+k] = x > y
		}
	}
}

func intRow(kind binaryKind, out *tensor, o int, a, b []int32, ia, ib, incA, incB, n int) {
	for k := range n {
		x, y := a[ia+k*incA], b[ib+k*incB]
		switch kind {
		case opAdd:
			out.i[o+k] = x + y
		case opSub:
			out.i[o+k] = x - y
		case opMul:
			out.i[o+k] = x * y
		case opDiv:
			if y == 0 {
				out.i[o+k] = 0
			} else {
				out.i[o+k] = x / y
			}
		case opMaximum:
			out.i[o+k] = max(x, y)
		case opLess:
			out.b[o+k] = x < y
		case opGreater:
			out.b[o+k] = x > y
		}
	}
}

func unaryFunc(op string) (func(float64) float64, bool) {
	switch op {
	case "Sin":
		return math.Sin, true
	case "Cos":
		return math.Cos, true
	case "Tanh":
		return math.Tanh, true
	case "Square":
		return func(x float64) float64 { return x * x }, true
	case "Rsqrt":
		return func(x float64) float64 { return 1 / math.Sqrt(x) }, true
	case "Relu":
		return func(x float64) float64 { return max(x, 0) }, true
	}
	return nil, false
}

func unaryOp(f func(float64) float64) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		x := in[0]
		if x.dt != float32T {
			return nil, fmt.Errorf("want float32, got %s", x.dt)
		}
		out := newFloat(x.shape)
		for k, v := range x.f {
			out.f[k] = float32(f(float64(v)))
		}
		return []*tensor{out}, nil
	}
}

func logicalNot(in []*tensor) ([]*tensor, error) {
	x := in[0]
	if x.dt != boolT {
		return nil, fmt.Errorf("want bool, got %s", x.dt)
	}
	out := newBool(x.shape)
	for k, v := range x.b {
		out.b[k] = !v
	}
	return []*tensor{out}, nil
}

func castOp(to dtype) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		x := in[0]
		out := newOfType(to, x.shape)
		for k := range x.size() {
			var v float64
			switch x.dt {
			case float32T:
				v = float64(x.f[k])
			case int32T:
				v = float64(x.i[k])
			case boolT:
				if x.b[k] {
					v = 1
				}
			}
			switch to {
			case float32T:
				out.f[k] = float32(v)
			case int32T:
				out.i[k] = int32(v)
			case boolT:
				out.b[k] = v != 0
			}
		}
		return []*tensor{out}, nil
	}
}

type reduceKind uint8

const (
	reduceSum reduceKind = iota
	reduceMean
	reduceMax
	reduceProd
)

func reduceKindOf(op string) (reduceKind, bool) {
	switch op {
	case "Sum":
		return reduceSum, true
	case "Mean":
		return reduceMean, true
	case "Max":
		return reduceMax, true
	case "Prod":
		return reduceProd, true
	}
	return 0, false
}

// reduceOp reduces over the axes given by the second input. Every output
// element gathers its inputs in row-major order, as TensorFlow.js does.
func reduceOp(kind reduceKind, keepDims bool) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		x := in[0]
		if x.dt == boolT {
			return nil, fmt.Errorf("cannot reduce bool")
		}
		axes, err := in[1].ints()
		if err != nil {
			return nil, fmt.Errorf("axes: %w", err)
		}
		reduced := make([]bool, x.rank())
		for _, a := range axes {
			a, err := normAxis(a, x.rank())
			if err != nil {
				return nil, err
			}
			reduced[a] = true
		}
		// Move the reduced axes last so that each output element reduces a
		// contiguous run of the permuted input.
		var perm, outShape, keptShape []int
		count := 1
		for k, d := range x.shape {
			if !reduced[k] {
				perm = append(perm, k)
				outShape = append(outShape, d)
				keptShape = append(keptShape, d)
			} else if keepDims {
				keptShape = append(keptShape, 1)
			}
		}
		for k, d := range x.shape {
			if reduced[k] {
				perm = append(perm, k)
				count *= d
			}
		}
		xt := x
		if !isIdentity(perm) {
			xt = transposeTensor(x, perm)
		}
		if keepDims {
			outShape = keptShape
		}
		out := newOfType(x.dt, outShape)
		for o := range out.size() {
			if x.dt == float32T {
				out.f[o] = reduceFloats(kind, xt.f[o*count:(o+1)*count])
			} else {
				out.i[o] = reduceInts(kind, xt.i[o*count:(o+1)*count])
			}
		}
		return []*tensor{out}, nil
	}
}

func reduceFloats(kind reduceKind, v []float32) float32 {
	switch kind {
	case reduceMax:
		m := float32(math.Inf(-1))
		for _, x := range v {
			m = max(m, x)
		}
		return m
	case reduceProd:
		p := 1.0
		for _, x := range v {
			p *= float64(x)
		}
		return float32(p)
	case reduceMean:
		// TensorFlow.js divides each element by the count, then sums.
		n := float32(len(v))
		s := 0.0
		for _, x := range v {
			s += float64(x / n)
		}
		return float32(s)
	}
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return float32(s)
}

func reduceInts(kind reduceKind, v []int32) int32 {
	var r int32
	switch kind {
	case reduceMax:
		r = math.MinInt32
		for _, x := range v {
			r = max(r, x)
		}
	case reduceProd:
		r = 1
		for _, x := range v {
			r *= x
		}
	default:
		for _, x := range v {
			r += x
		}
		if kind == reduceMean && len(v) > 0 {
			r /= int32(len(v))
		}
	}
	return r
}

// softmax works on the last axis, subtracting the row's maximum first.
func softmax(in []*tensor) ([]*tensor, error) {
	x := in[0]
	if x.dt != float32T || x.rank() == 0 {
		return nil, fmt.Errorf("want a float32 tensor of rank >= 1, got %s%v", x.dt, x.shape)
	}
	n := x.shape[x.rank()-1]
	out := newFloat(x.shape)
	if n == 0 {
		return []*tensor{out}, nil
	}
	for r := 0; r < len(x.f); r += n {
		row, dst := x.f[r:r+n], out.f[r:r+n]
		m := reduceFloats(reduceMax, row)
		sum := 0.0
		for k, v := range row {
			e := float32(math.Exp(float64(v - m)))
			dst[k] = e
			sum += float64(e)
		}
		s := float32(sum)
		for k := range dst {
			dst[k] /= s
		}
	}
	return []*tensor{out}, nil
}
