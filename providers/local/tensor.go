package local

import "fmt"

// dtype is the element type of a tensor. Like TensorFlow.js, the
// interpreter keeps TensorFlow's int64 tensors as int32: every integer in
// this graph is a token id, a position or a shape.
type dtype uint8

const (
	float32T dtype = iota + 1
	int32T
	boolT
)

func (d dtype) String() string {
	switch d {
	case float32T:
		return "float32"
	case int32T:
		return "int32"
	case boolT:
		return "bool"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// dtypeFromTF maps TensorFlow's DataType enum values used by the graph.
func dtypeFromTF(v int) (dtype, error) {
	switch v {
	case 1: // DT_FLOAT
		return float32T, nil
	case 3, 9: // DT_INT32, DT_INT64
		return int32T, nil
	case 10: // DT_BOOL
		return boolT, nil
	}
	return 0, fmt.Errorf("unsupported TensorFlow dtype %d", v)
}

// tensor is a dense row-major array. Exactly one of f, i, b is used, chosen
// by dt. Tensors are never modified after an op returns them: constants are
// shared by every call.
type tensor struct {
	shape []int
	dt    dtype
	f     []float32
	i     []int32
	b     []bool
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func newFloat(shape []int) *tensor {
	return &tensor{shape: shape, dt: float32T, f: make([]float32, numElements(shape))}
}

func newInt(shape []int) *tensor {
	return &tensor{shape: shape, dt: int32T, i: make([]int32, numElements(shape))}
}

func newBool(shape []int) *tensor {
	return &tensor{shape: shape, dt: boolT, b: make([]bool, numElements(shape))}
}

func newOfType(dt dtype, shape []int) *tensor {
	switch dt {
	case int32T:
		return newInt(shape)
	case boolT:
		return newBool(shape)
	}
	return newFloat(shape)
}

func (t *tensor) size() int { return numElements(t.shape) }

func (t *tensor) rank() int { return len(t.shape) }

// reshaped shares t's data under another shape of the same size.
func (t *tensor) reshaped(shape []int) *tensor {
	return &tensor{shape: shape, dt: t.dt, f: t.f, i: t.i, b: t.b}
}

// copyElem copies element src of s into element dst of d (same dtype).
func copyElem(d *tensor, dst int, s *tensor, src int) {
	switch d.dt {
	case float32T:
		d.f[dst] = s.f[src]
	case int32T:
		d.i[dst] = s.i[src]
	case boolT:
		d.b[dst] = s.b[src]
	}
}

// copyRange copies n elements of s from src into d at dst (same dtype).
func copyRange(d *tensor, dst int, s *tensor, src, n int) {
	switch d.dt {
	case float32T:
		copy(d.f[dst:dst+n], s.f[src:src+n])
	case int32T:
		copy(d.i[dst:dst+n], s.i[src:src+n])
	case boolT:
		copy(d.b[dst:dst+n], s.b[src:src+n])
	}
}

// ints reads an integer tensor of rank 0 or 1 (shapes, axes, sizes).
func (t *tensor) ints() ([]int, error) {
	if t.dt != int32T || t.rank() > 1 {
		return nil, fmt.Errorf("want an int32 scalar or vector, got %s%v", t.dt, t.shape)
	}
	out := make([]int, len(t.i))
	for k, v := range t.i {
		out[k] = int(v)
	}
	return out, nil
}

// scalarInt reads an integer tensor holding exactly one value.
func (t *tensor) scalarInt() (int, error) {
	v, err := t.ints()
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("want one integer, got shape %v", t.shape)
	}
	return v[0], nil
}

func strides(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for k := len(shape) - 1; k >= 0; k-- {
		s[k] = n
		n *= shape[k]
	}
	return s
}

// normAxis turns a possibly negative axis into one in [0, rank).
func normAxis(axis, rank int) (int, error) {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return axis, nil
}

// broadcastShape is the NumPy-style broadcast of two shapes.
func broadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for k := range n {
		da, db := 1, 1
		if j := k - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := k - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[k] = da
		case da == 1:
			out[k] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastStrides gives the strides with which an operand of shape s is
// read for an output of shape out: 0 along broadcast dimensions.
func broadcastStrides(s, out []int) []int {
	st := strides(s)
	res := make([]int, len(out))
	off := len(out) - len(s)
	for k := range s {
		if s[k] != 1 {
			res[k+off] = st[k]
		}
	}
	return res
}

// forEachRow walks an output of shape out row by row (a row is the last
// dimension) and calls fn with the offsets of the row's first element in the
// output and in the two operands, and the operands' strides along the row.
// It keeps broadcasting off the per-element path.
func forEachRow(out, sa, sb []int, fn func(o, a, b, incA, incB, n int)) {
	if len(out) == 0 {
		fn(0, 0, 0, 0, 0, 1)
		return
	}
	last := len(out) - 1
	n := out[last]
	if n == 0 {
		return
	}
	rows := numElements(out[:last])
	idx := make([]int, last)
	oa, ob := 0, 0
	for r := range rows {
		fn(r*n, oa, ob, sa[last], sb[last], n)
		for k := last - 1; k >= 0; k-- {
			idx[k]++
			oa += sa[k]
			ob += sb[k]
			if idx[k] < out[k] {
				break
			}
			oa -= sa[k] * idx[k]
			ob -= sb[k] * idx[k]
			idx[k] = 0
		}
	}
}
