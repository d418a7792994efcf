package local

import (
	"fmt"
	"slices"
)

// Ops that only move data: shapes, views, slices and concatenation.

func shapeOp(in []*tensor) ([]*tensor, error) {
	x := in[0]
	out := newInt([]int{x.rank()})
	for k, d := range x.shape {
		out.i[k] = int32(d)
	}
	return []*tensor{out}, nil
}

func reshape(in []*tensor) ([]*tensor, error) {
	x := in[0]
	shape, err := in[1].ints()
	if err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	infer, known := -1, 1
	for k, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = k
		case d < 0:
			return nil, fmt.Errorf("bad shape %v", shape)
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || x.size()%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", x.shape, shape)
		}
		shape[infer] = x.size() / known
	}
	if numElements(shape) != x.size() {
		return nil, fmt.Errorf("cannot reshape %v to %v", x.shape, shape)
	}
	return []*tensor{x.reshaped(shape)}, nil
}

func expandDims(in []*tensor) ([]*tensor, error) {
	x := in[0]
	axis, err := in[1].scalarInt()
	if err != nil {
		return nil, fmt.Errorf("axis: %w", err)
	}
	if axis, err = normAxis(axis, x.rank()+1); err != nil {
		return nil, err
	}
	return []*tensor{x.reshaped(slices.Insert(slices.Clone(x.shape), axis, 1))}, nil
}

func squeezeOp(dims []int) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		x := in[0]
		drop := make([]bool, x.rank())
		for _, d := range dims {
			d, err := normAxis(d, x.rank())
			if err != nil {
				return nil, err
			}
			if x.shape[d] != 1 {
				return nil, fmt.Errorf("cannot squeeze dimension %d of %v", d, x.shape)
			}
			drop[d] = true
		}
		var shape []int
		for k, d := range x.shape {
			if !drop[k] && (len(dims) > 0 || d != 1) {
				shape = append(shape, d)
			}
		}
		return []*tensor{x.reshaped(shape)}, nil
	}
}

// concat joins tensors of one dtype along axis.
func concat(parts []*tensor, axis int) (*tensor, error) {
	first := parts[0]
	axis, err := normAxis(axis, first.rank())
	if err != nil {
		return nil, err
	}
	shape := slices.Clone(first.shape)
	shape[axis] = 0
	for _, p := range parts {
		if p.dt != first.dt || p.rank() != first.rank() {
			return nil, fmt.Errorf("cannot concatenate %s%v and %s%v", first.dt, first.shape, p.dt, p.shape)
		}
		for k := range shape {
			if k != axis && p.shape[k] != first.shape[k] {
				return nil, fmt.Errorf("cannot concatenate %v and %v on axis %d", first.shape, p.shape, axis)
			}
		}
		shape[axis] += p.shape[axis]
	}
	out := newOfType(first.dt, shape)
	outer := numElements(shape[:axis])
	o := 0
	for r := range outer {
		for _, p := range parts {
			n := numElements(p.shape[axis:])
			copyRange(out, o, p, r*n, n)
			o += n
		}
	}
	return out, nil
}

func concatV2(in []*tensor) ([]*tensor, error) {
	axis, err := in[len(in)-1].scalarInt()
	if err != nil {
		return nil, fmt.Errorf("axis: %w", err)
	}
	out, err := concat(in[:len(in)-1], axis)
	if err != nil {
		return nil, err
	}
	return []*tensor{out}, nil
}

func packOp(axis int) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		parts := make([]*tensor, len(in))
		for k, p := range in {
			a, err := normAxis(axis, p.rank()+1)
			if err != nil {
				return nil, err
			}
			parts[k] = p.reshaped(slices.Insert(slices.Clone(p.shape), a, 1))
		}
		out, err := concat(parts, axis)
		if err != nil {
			return nil, err
		}
		return []*tensor{out}, nil
	}
}

func isIdentity(perm []int) bool {
	for k, p := range perm {
		if p != k {
			return false
		}
	}
	return true
}

// transposeTensor permutes x's axes; perm must be a valid permutation.
func transposeTensor(x *tensor, perm []int) *tensor {
	shape := make([]int, len(perm))
	src := strides(x.shape)
	st := make([]int, len(perm))
	for k, p := range perm {
		shape[k] = x.shape[p]
		st[k] = src[p]
	}
	out := newOfType(x.dt, shape)
	forEachRow(shape, st, st, func(o, ia, _, incA, _, n int) {
		if incA == 1 {
			copyRange(out, o, x, ia, n)
			return
		}
		for k := range n {
			copyElem(out, o+k, x, ia+k*incA)
		}
	})
	return out
}

func transpose(in []*tensor) ([]*tensor, error) {
	x := in[0]
	perm, err := in[1].ints()
	if err != nil {
		return nil, fmt.Errorf("perm: %w", err)
	}
	seen := make([]bool, x.rank())
	if len(perm) != x.rank() {
		return nil, fmt.Errorf("perm %v for rank %d", perm, x.rank())
	}
	for _, p := range perm {
		if p < 0 || p >= x.rank() || seen[p] {
			return nil, fmt.Errorf("bad perm %v", perm)
		}
		seen[p] = true
	}
	return []*tensor{transposeTensor(x, perm)}, nil
}

// sliceTensor copies the box begin[k] <= i < begin[k]+size[k], stepping by
// step[k] > 0; the bounds must already be valid.
func sliceTensor(x *tensor, begin, size, step []int) *tensor {
	out := newOfType(x.dt, size)
	st := strides(x.shape)
	base := 0
	inc := make([]int, len(st))
	for k := range st {
		base += begin[k] * st[k]
		inc[k] = st[k] * step[k]
	}
	forEachRow(size, inc, inc, func(o, ia, _, incA, _, n int) {
		for k := range n {
			copyElem(out, o+k, x, base+ia+k*incA)
		}
	})
	return out
}

func sliceOp(in []*tensor) ([]*tensor, error) {
	x := in[0]
	begin, err := in[1].ints()
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	size, err := in[2].ints()
	if err != nil {
		return nil, fmt.Errorf("size: %w", err)
	}
	if len(begin) != x.rank() || len(size) != x.rank() {
		return nil, fmt.Errorf("begin %v and size %v for shape %v", begin, size, x.shape)
	}
	step := make([]int, x.rank())
	for k := range size {
		step[k] = 1
		if size[k] == -1 {
			size[k] = x.shape[k] - begin[k]
		}
		if begin[k] < 0 || size[k] < 0 || begin[k]+size[k] > x.shape[k] {
			return nil, fmt.Errorf("slice %v+%v out of %v", begin, size, x.shape)
		}
	}
	return []*tensor{sliceTensor(x, begin, size, step)}, nil
}

type stridedSliceMasks struct{ begin, end, shrink int }

// stridedSlice supports positive strides and the begin, end and shrink-axis
// masks; the loader rejects ellipsis and new-axis masks, which the graph
// does not use.
func stridedSlice(m stridedSliceMasks) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		x := in[0]
		var spec [3][]int
		for k := range spec {
			v, err := in[k+1].ints()
			if err != nil {
				return nil, fmt.Errorf("input %d: %w", k+1, err)
			}
			spec[k] = v
		}
		begins, ends, steps := spec[0], spec[1], spec[2]
		if len(begins) != len(ends) || len(begins) != len(steps) || len(begins) > x.rank() {
			return nil, fmt.Errorf("slice spec %v:%v:%v for shape %v", begins, ends, steps, x.shape)
		}
		begin, size, step := make([]int, x.rank()), slices.Clone(x.shape), make([]int, x.rank())
		var outShape []int
		for k, d := range x.shape {
			step[k] = 1
			if k >= len(begins) {
				outShape = append(outShape, d)
				continue
			}
			if steps[k] <= 0 {
				return nil, fmt.Errorf("unsupported stride %d", steps[k])
			}
			b, e, bit := begins[k], ends[k], 1<<k
			if b < 0 {
				b += d
			}
			if e < 0 {
				e += d
			}
			if m.begin&bit != 0 {
				b = 0
			}
			if m.end&bit != 0 {
				e = d
			}
			if m.shrink&bit != 0 {
				if b < 0 || b >= d {
					return nil, fmt.Errorf("index %d out of range for dimension %d", begins[k], d)
				}
				begin[k], size[k] = b, 1
				continue
			}
			b, e = min(max(b, 0), d), min(max(e, 0), d)
			n := 0
			if e > b {
				n = (e - b + steps[k] - 1) / steps[k]
			}
			begin[k], size[k], step[k] = b, n, steps[k]
			outShape = append(outShape, n)
		}
		return []*tensor{sliceTensor(x, begin, size, step).reshaped(outShape)}, nil
	}
}

func splitV(numSplit int) opFunc {
	return func(in []*tensor) ([]*tensor, error) {
		x := in[0]
		sizes, err := in[1].ints()
		if err != nil {
			return nil, fmt.Errorf("sizes: %w", err)
		}
		axis, err := in[2].scalarInt()
		if err != nil {
			return nil, fmt.Errorf("axis: %w", err)
		}
		if axis, err = normAxis(axis, x.rank()); err != nil {
			return nil, err
		}
		if len(sizes) != numSplit {
			return nil, fmt.Errorf("%d sizes for %d outputs", len(sizes), numSplit)
		}
		infer, total := -1, 0
		for k, s := range sizes {
			if s == -1 && infer < 0 {
				infer = k
			} else {
				total += s
			}
		}
		if infer >= 0 {
			sizes[infer] = x.shape[axis] - total
			total = x.shape[axis]
		}
		if total != x.shape[axis] {
			return nil, fmt.Errorf("sizes %v do not split dimension %d", sizes, x.shape[axis])
		}
		outs := make([]*tensor, numSplit)
		begin := make([]int, x.rank())
		step := slices.Repeat([]int{1}, x.rank())
		for k, s := range sizes {
			if s < 0 {
				return nil, fmt.Errorf("bad sizes %v", sizes)
			}
			size := slices.Clone(x.shape)
			size[axis] = s
			outs[k] = sliceTensor(x, slices.Clone(begin), size, step)
			begin[axis] += s
		}
		return outs, nil
	}
}

func rangeOp(in []*tensor) ([]*tensor, error) {
	var v [3]int
	for k := range v {
		n, err := in[k].scalarInt()
		if err != nil {
			return nil, fmt.Errorf("range input %d: %w", k, err)
		}
		v[k] = n
	}
	start, limit, delta := v[0], v[1], v[2]
	if delta == 0 {
		return nil, fmt.Errorf("range with delta 0")
	}
	n := 0
	if (delta > 0 && limit > start) || (delta < 0 && limit < start) {
		n = (limit - start + delta - sign(delta)) / delta
	}
	out := newInt([]int{n})
	for k := range n {
		out.i[k] = int32(start + k*delta)
	}
	return []*tensor{out}, nil
}

func sign(v int) int {
	if v < 0 {
		return -1
	}
	return 1
}
