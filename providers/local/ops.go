package local

import (
	"fmt"
	"slices"
)

// opFunc runs one node on its input values. Ops never modify their inputs.
type opFunc func(in []*tensor) ([]*tensor, error)

// opSpec is a node's op, bound to its attributes at load time.
type opSpec struct {
	run opFunc
	// inputs is the number of inputs the op reads; -1 means one or more.
	inputs  int
	outputs int
}

// newOp binds the op of def to its attributes, rejecting ops and attribute
// values the interpreter does not implement: a model that loads runs.
func newOp(def *nodeDef) (opSpec, error) {
	one := func(run opFunc, inputs int) (opSpec, error) {
		return opSpec{run: run, inputs: inputs, outputs: 1}, nil
	}
	if k, ok := binaryKindOf(def.Op); ok {
		return one(binaryOp(k), 2)
	}
	if f, ok := unaryFunc(def.Op); ok {
		return one(unaryOp(f), 1)
	}
	if k, ok := reduceKindOf(def.Op); ok {
		return one(reduceOp(k, def.boolAttr("keep_dims")), 2)
	}
	switch def.Op {
	case "LogicalNot":
		return one(logicalNot, 1)
	case "Cast":
		to, err := def.typeAttr("DstT")
		if err != nil {
			return opSpec{}, err
		}
		return one(castOp(to), 1)
	case "Softmax":
		return one(softmax, 1)
	case "Shape":
		return one(shapeOp, 1)
	case "Reshape":
		return one(reshape, 2)
	case "ExpandDims":
		return one(expandDims, 2)
	case "Squeeze":
		dims, err := def.intsAttr("squeeze_dims")
		if err != nil {
			return opSpec{}, err
		}
		return one(squeezeOp(dims), 1)
	case "ConcatV2":
		return one(concatV2, -1)
	case "Pack":
		axis, err := def.intAttr("axis")
		if err != nil {
			return opSpec{}, err
		}
		return one(packOp(axis), -1)
	case "Transpose":
		return one(transpose, 2)
	case "Slice":
		return one(sliceOp, 3)
	case "StridedSlice":
		return newStridedSlice(def)
	case "SplitV":
		n, err := def.intAttr("num_split")
		if err != nil || n < 1 {
			return opSpec{}, unsupported("num_split", n, err)
		}
		return opSpec{run: splitV(n), inputs: 3, outputs: n}, nil
	case "Range":
		return one(rangeOp, 3)
	case "GatherV2":
		if b, err := def.intAttr("batch_dims"); err != nil || b != 0 {
			return opSpec{}, unsupported("batch_dims", b, err)
		}
		return one(gatherV2, 3)
	case "GatherNd":
		return one(gatherNd, 2)
	case "ScatterNd":
		return one(scatterNd, 3)
	case "SparseToDense":
		return one(sparseToDense, 4)
	case "Where":
		return one(where, 1)
	case "MatMul":
		return newMatMul(def, "transpose_a", "transpose_b", matMul)
	case "BatchMatMul", "BatchMatMulV2":
		return newMatMul(def, "adj_x", "adj_y", batchMatMul)
	case "Conv2D":
		return newConv2D(def)
	case "BiasAdd":
		if f, err := def.stringAttr("data_format", "NHWC"); err != nil || f != "NHWC" {
			return opSpec{}, unsupported("data_format", f, err)
		}
		return one(biasAdd, 2)
	}
	return opSpec{}, fmt.Errorf("unsupported op %s", def.Op)
}

func newStridedSlice(def *nodeDef) (opSpec, error) {
	var m stridedSliceMasks
	var err error
	var ellipsis, newAxis int
	for _, a := range []struct {
		name string
		dst  *int
	}{
		{"begin_mask", &m.begin}, {"end_mask", &m.end}, {"shrink_axis_mask", &m.shrink},
		{"ellipsis_mask", &ellipsis}, {"new_axis_mask", &newAxis},
	} {
		if *a.dst, err = def.intAttr(a.name); err != nil {
			return opSpec{}, err
		}
	}
	if ellipsis != 0 || newAxis != 0 {
		return opSpec{}, fmt.Errorf("ellipsis and new-axis masks unsupported")
	}
	return opSpec{run: stridedSlice(m), inputs: 4, outputs: 1}, nil
}

func newMatMul(def *nodeDef, attrA, attrB string, op func(bool, bool) opFunc) (opSpec, error) {
	return opSpec{run: op(def.boolAttr(attrA), def.boolAttr(attrB)), inputs: 2, outputs: 1}, nil
}

func newConv2D(def *nodeDef) (opSpec, error) {
	for _, name := range []string{"strides", "dilations"} {
		v, err := def.intsAttr(name)
		if err != nil {
			return opSpec{}, err
		}
		if len(v) > 0 && !slices.Equal(v, []int{1, 1, 1, 1}) {
			return opSpec{}, fmt.Errorf("%s %v unsupported", name, v)
		}
	}
	if p, err := def.stringAttr("padding", ""); err != nil || p != "VALID" {
		return opSpec{}, unsupported("padding", p, err)
	}
	if f, err := def.stringAttr("data_format", "NHWC"); err != nil || f != "NHWC" {
		return opSpec{}, unsupported("data_format", f, err)
	}
	return opSpec{run: conv2D, inputs: 2, outputs: 1}, nil
}

// unsupported explains why a node cannot be run: its attribute could not
// be read, or has a value this interpreter does not implement.
func unsupported(attr string, value any, err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s %v unsupported", attr, value)
}
