package local

import (
	"fmt"
	"slices"
)

// Ops that address elements by index. Every index is checked: a bad one is
// an error, never a read or write out of bounds.

func gatherV2(in []*tensor) ([]*tensor, error) {
	params, indices := in[0], in[1]
	axis, err := in[2].scalarInt()
	if err != nil {
		return nil, fmt.Errorf("axis: %w", err)
	}
	if axis, err = normAxis(axis, params.rank()); err != nil {
		return nil, err
	}
	if indices.dt != int32T {
		return nil, fmt.Errorf("indices are %s", indices.dt)
	}
	shape := slices.Concat(params.shape[:axis], indices.shape, params.shape[axis+1:])
	out := newOfType(params.dt, shape)
	outer := numElements(params.shape[:axis])
	inner := numElements(params.shape[axis+1:])
	dim := params.shape[axis]
	o := 0
	for r := range outer {
		for _, idx := range indices.i {
			if idx < 0 || int(idx) >= dim {
				return nil, fmt.Errorf("index %d out of range [0, %d)", idx, dim)
			}
			copyRange(out, o, params, (r*dim+int(idx))*inner, inner)
			o += inner
		}
	}
	return []*tensor{out}, nil
}

// ndOffsets resolves the last dimension of indices into element offsets of
// a tensor of the given shape, and the size of each addressed slice.
func ndOffsets(indices *tensor, shape []int) (offsets []int, slice int, err error) {
	if indices.dt != int32T || indices.rank() == 0 {
		return nil, 0, fmt.Errorf("indices are %s%v", indices.dt, indices.shape)
	}
	depth := indices.shape[indices.rank()-1]
	if depth > len(shape) {
		return nil, 0, fmt.Errorf("index depth %d for shape %v", depth, shape)
	}
	st := strides(shape)
	slice = numElements(shape[depth:])
	n := numElements(indices.shape[:indices.rank()-1])
	offsets = make([]int, n)
	for k := range n {
		off := 0
		for d := range depth {
			v := int(indices.i[k*depth+d])
			if v < 0 || v >= shape[d] {
				return nil, 0, fmt.Errorf("index %d out of range [0, %d)", v, shape[d])
			}
			off += v * st[d]
		}
		offsets[k] = off
	}
	return offsets, slice, nil
}

func gatherNd(in []*tensor) ([]*tensor, error) {
	params, indices := in[0], in[1]
	offsets, slice, err := ndOffsets(indices, params.shape)
	if err != nil {
		return nil, err
	}
	depth := indices.shape[indices.rank()-1]
	shape := slices.Concat(indices.shape[:indices.rank()-1], params.shape[depth:])
	out := newOfType(params.dt, shape)
	for k, off := range offsets {
		copyRange(out, k*slice, params, off, slice)
	}
	return []*tensor{out}, nil
}

// scatterNd adds the updates into zeros, summing duplicates as TensorFlow
// does.
func scatterNd(in []*tensor) ([]*tensor, error) {
	indices, updates := in[0], in[1]
	shape, err := in[2].ints()
	if err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	out := newOfType(updates.dt, shape)
	if out.dt == boolT {
		return nil, fmt.Errorf("cannot scatter bool")
	}
	offsets, slice, err := ndOffsets(indices, shape)
	if err != nil {
		return nil, err
	}
	if updates.size() != len(offsets)*slice {
		return nil, fmt.Errorf("updates %v for %d slices of %d", updates.shape, len(offsets), slice)
	}
	for k, off := range offsets {
		for j := range slice {
			if out.dt == float32T {
				out.f[off+j] += updates.f[k*slice+j]
			} else {
				out.i[off+j] += updates.i[k*slice+j]
			}
		}
	}
	return []*tensor{out}, nil
}

func sparseToDense(in []*tensor) ([]*tensor, error) {
	indices, values, def := in[0], in[2], in[3]
	shape, err := in[1].ints()
	if err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	if values.dt != def.dt || def.size() != 1 {
		return nil, fmt.Errorf("values %s and default %s%v", values.dt, def.dt, def.shape)
	}
	if indices.rank() == 1 {
		indices = indices.reshaped([]int{indices.size(), 1})
	}
	out := newOfType(values.dt, shape)
	for k := range out.size() {
		copyElem(out, k, def, 0)
	}
	offsets, slice, err := ndOffsets(indices, shape)
	if err != nil {
		return nil, err
	}
	if slice != 1 {
		return nil, fmt.Errorf("indices %v do not address elements of %v", indices.shape, shape)
	}
	scalar := values.size() == 1
	if !scalar && values.size() != len(offsets) {
		return nil, fmt.Errorf("%d values for %d indices", values.size(), len(offsets))
	}
	for k, off := range offsets {
		src := k
		if scalar {
			src = 0
		}
		copyElem(out, off, values, src)
	}
	return []*tensor{out}, nil
}

// where lists the coordinates of the true elements in row-major order.
func where(in []*tensor) ([]*tensor, error) {
	x := in[0]
	if x.dt != boolT {
		return nil, fmt.Errorf("want bool, got %s", x.dt)
	}
	st := strides(x.shape)
	var coords []int32
	for k, v := range x.b {
		if !v {
			continue
		}
		rem := k
		for _, s := range st {
			coords = append(coords, int32(rem/s))
			rem %= s
		}
	}
	out := &tensor{shape: []int{len(coords) / max(x.rank(), 1), x.rank()}, dt: int32T, i: coords}
	if x.rank() == 0 {
		out.shape[0] = 0
		if x.b[0] {
			out.shape[0] = 1
		}
	}
	if out.i == nil {
		out.i = []int32{}
	}
	return []*tensor{out}, nil
}
