package local

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func ft(shape []int, v ...float32) *tensor { return &tensor{shape: shape, dt: float32T, f: v} }
func it(shape []int, v ...int32) *tensor   { return &tensor{shape: shape, dt: int32T, i: v} }
func bt(shape []int, v ...bool) *tensor    { return &tensor{shape: shape, dt: boolT, b: v} }

// norm0 gives empty slices one form, so that results compare with DeepEqual.
func norm0(t *tensor) *tensor {
	c := *t
	if c.shape == nil {
		c.shape = []int{}
	}
	for _, s := range []any{&c.f, &c.i, &c.b} {
		switch p := s.(type) {
		case *[]float32:
			if len(*p) == 0 {
				*p = nil
			}
		case *[]int32:
			if len(*p) == 0 {
				*p = nil
			}
		case *[]bool:
			if len(*p) == 0 {
				*p = nil
			}
		}
	}
	return &c
}

func TestOps(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   opFunc
		in   []*tensor
		want []*tensor
		err  string
	}{
		{"add broadcasts rows", binaryOp(opAdd),
			[]*tensor{ft([]int{2, 3}, 1, 2, 3, 4, 5, 6), ft([]int{3}, 10, 20, 30)},
			[]*tensor{ft([]int{2, 3}, 11, 22, 33, 14, 25, 36)}, ""},
		{"mul broadcasts columns", binaryOp(opMul),
			[]*tensor{ft([]int{2, 1}, 2, 3), ft([]int{1, 3}, 1, 2, 3)},
			[]*tensor{ft([]int{2, 3}, 2, 4, 6, 3, 6, 9)}, ""},
		{"int maximum with scalar", binaryOp(opMaximum),
			[]*tensor{it([]int{3}, -1, 5, 2), it(nil, 2)},
			[]*tensor{it([]int{3}, 2, 5, 2)}, ""},
		{"less gives bool", binaryOp(opLess),
			[]*tensor{it([]int{3}, 1, 128, 200), it(nil, 128)},
			[]*tensor{bt([]int{3}, true, false, false)}, ""},
		{"shapes that do not broadcast", binaryOp(opAdd),
			[]*tensor{ft([]int{2}, 1, 2), ft([]int{3}, 1, 2, 3)}, nil, "do not broadcast"},
		{"mixed dtypes", binaryOp(opAdd),
			[]*tensor{ft([]int{1}, 1), it([]int{1}, 1)}, nil, "operands"},
		{"mean keeps dims", reduceOp(reduceMean, true),
			[]*tensor{ft([]int{2, 2}, 1, 3, 5, 7), it([]int{1}, -1)},
			[]*tensor{ft([]int{2, 1}, 2, 6)}, ""},
		{"sum over the first axis", reduceOp(reduceSum, false),
			[]*tensor{ft([]int{2, 3}, 1, 2, 3, 4, 5, 6), it(nil, 0)},
			[]*tensor{ft([]int{3}, 5, 7, 9)}, ""},
		{"int max over all", reduceOp(reduceMax, false),
			[]*tensor{it([]int{2, 2}, 3, 9, -1, 4), it([]int{2}, 0, 1)},
			[]*tensor{it([]int{}, 9)}, ""},
		{"prod", reduceOp(reduceProd, false),
			[]*tensor{it([]int{3}, 2, 3, 4), it([]int{1}, 0)},
			[]*tensor{it([]int{}, 24)}, ""},
		{"softmax rows", softmax,
			[]*tensor{ft([]int{2, 2}, 0, 0, 1000, 1000)},
			[]*tensor{ft([]int{2, 2}, 0.5, 0.5, 0.5, 0.5)}, ""},
		{"reshape infers", reshape,
			[]*tensor{it([]int{2, 3}, 1, 2, 3, 4, 5, 6), it([]int{2}, -1, 2)},
			[]*tensor{it([]int{3, 2}, 1, 2, 3, 4, 5, 6)}, ""},
		{"reshape mismatch", reshape,
			[]*tensor{it([]int{2}, 1, 2), it([]int{1}, 3)}, nil, "cannot reshape"},
		{"transpose", transpose,
			[]*tensor{it([]int{2, 3}, 1, 2, 3, 4, 5, 6), it([]int{2}, 1, 0)},
			[]*tensor{it([]int{3, 2}, 1, 4, 2, 5, 3, 6)}, ""},
		{"transpose bad perm", transpose,
			[]*tensor{it([]int{2, 1}, 1, 2), it([]int{2}, 0, 0)}, nil, "bad perm"},
		{"concat on last axis", concatV2,
			[]*tensor{it([]int{2, 1}, 1, 2), it([]int{2, 2}, 3, 4, 5, 6), it(nil, -1)},
			[]*tensor{it([]int{2, 3}, 1, 3, 4, 2, 5, 6)}, ""},
		{"pack scalars", packOp(0),
			[]*tensor{it(nil, 7), it(nil, 8)},
			[]*tensor{it([]int{2}, 7, 8)}, ""},
		{"expand dims at the end", expandDims,
			[]*tensor{it([]int{2}, 1, 2), it(nil, -1)},
			[]*tensor{it([]int{2, 1}, 1, 2)}, ""},
		{"squeeze named dim", squeezeOp([]int{0}),
			[]*tensor{it([]int{1, 2, 1}, 1, 2)},
			[]*tensor{it([]int{2, 1}, 1, 2)}, ""},
		{"squeeze non-unit dim", squeezeOp([]int{1}),
			[]*tensor{it([]int{1, 2}, 1, 2)}, nil, "cannot squeeze"},
		{"slice to the end", sliceOp,
			[]*tensor{it([]int{2, 3}, 1, 2, 3, 4, 5, 6), it([]int{2}, 0, 1), it([]int{2}, -1, 2)},
			[]*tensor{it([]int{2, 2}, 2, 3, 5, 6)}, ""},
		{"slice out of range", sliceOp,
			[]*tensor{it([]int{2}, 1, 2), it([]int{1}, 1), it([]int{1}, 2)}, nil, "out of"},
		{"strided slice shrinks the second axis", stridedSlice(stridedSliceMasks{begin: 1, end: 1, shrink: 2}),
			[]*tensor{it([]int{3, 2}, 0, 10, 0, 11, 0, 12), it([]int{2}, 0, 1), it([]int{2}, 0, 2), it([]int{2}, 1, 1)},
			[]*tensor{it([]int{3}, 10, 11, 12)}, ""},
		{"strided slice with steps and clamping", stridedSlice(stridedSliceMasks{}),
			[]*tensor{it([]int{5}, 0, 1, 2, 3, 4), it([]int{1}, 1), it([]int{1}, 99), it([]int{1}, 2)},
			[]*tensor{it([]int{2}, 1, 3)}, ""},
		{"strided slice negative index", stridedSlice(stridedSliceMasks{shrink: 1}),
			[]*tensor{it([]int{3}, 4, 5, 6), it([]int{1}, -1), it([]int{1}, 0), it([]int{1}, 1)},
			[]*tensor{it([]int{}, 6)}, ""},
		{"split with inferred size", splitV(2),
			[]*tensor{it([]int{1, 3}, 1, 2, 3), it([]int{2}, 1, -1), it(nil, 1)},
			[]*tensor{it([]int{1, 1}, 1), it([]int{1, 2}, 2, 3)}, ""},
		{"range", rangeOp,
			[]*tensor{it(nil, 1), it(nil, 8), it(nil, 3)},
			[]*tensor{it([]int{3}, 1, 4, 7)}, ""},
		{"gather rows", gatherV2,
			[]*tensor{ft([]int{3, 2}, 0, 1, 10, 11, 20, 21), it([]int{2}, 2, 0), it(nil, 0)},
			[]*tensor{ft([]int{2, 2}, 20, 21, 0, 1)}, ""},
		{"gather out of range", gatherV2,
			[]*tensor{ft([]int{1}, 0), it([]int{1}, 1), it(nil, 0)}, nil, "out of range"},
		{"gather nd", gatherNd,
			[]*tensor{it([]int{2, 2}, 1, 2, 3, 4), it([]int{2, 2}, 1, 0, 0, 1)},
			[]*tensor{it([]int{2}, 3, 2)}, ""},
		{"scatter nd sums duplicates", scatterNd,
			[]*tensor{it([]int{3, 1}, 0, 2, 0), ft([]int{3, 2}, 1, 1, 2, 2, 3, 3), it([]int{2}, 3, 2)},
			[]*tensor{ft([]int{3, 2}, 4, 4, 0, 0, 2, 2)}, ""},
		{"scatter nd out of range", scatterNd,
			[]*tensor{it([]int{1, 1}, 3), ft([]int{1}, 1), it([]int{1}, 3)}, nil, "out of range"},
		{"sparse to dense", sparseToDense,
			[]*tensor{it([]int{2, 2}, 0, 0, 0, 2), it([]int{2}, 1, 3), it([]int{2}, 7, 8), it(nil, 0)},
			[]*tensor{it([]int{1, 3}, 7, 0, 8)}, ""},
		{"where", where,
			[]*tensor{bt([]int{2, 2}, false, true, true, false)},
			[]*tensor{it([]int{2, 2}, 0, 1, 1, 0)}, ""},
		{"where none", where,
			[]*tensor{bt([]int{2}, false, false)},
			[]*tensor{it([]int{0, 1})}, ""},
		{"cast bool to float", castOp(float32T),
			[]*tensor{bt([]int{2}, true, false)},
			[]*tensor{ft([]int{2}, 1, 0)}, ""},
		{"logical not", logicalNot,
			[]*tensor{bt([]int{2}, true, false)},
			[]*tensor{bt([]int{2}, false, true)}, ""},
		{"rsqrt", unaryOp(func(x float64) float64 { f, _ := unaryFunc("Rsqrt"); return f(x) }),
			[]*tensor{ft([]int{2}, 4, 0.25)},
			[]*tensor{ft([]int{2}, 0.5, 2)}, ""},
		{"matmul", matMul(false, false),
			[]*tensor{ft([]int{1, 2}, 1, 2), ft([]int{2, 2}, 1, 2, 3, 4)},
			[]*tensor{ft([]int{1, 2}, 7, 10)}, ""},
		{"batch matmul with adjoint", batchMatMul(false, true),
			[]*tensor{ft([]int{1, 1, 2}, 1, 2), ft([]int{1, 2, 2}, 1, 3, 2, 4)},
			[]*tensor{ft([]int{1, 1, 2}, 7, 10)}, ""},
		{"matmul shape mismatch", matMul(false, false),
			[]*tensor{ft([]int{1, 3}, 1, 2, 3), ft([]int{2, 2}, 1, 2, 3, 4)}, nil, "cannot multiply"},
		{"1x1 convolution", conv2D,
			[]*tensor{ft([]int{1, 2, 1, 2}, 1, 2, 3, 4), ft([]int{1, 1, 2, 1}, 10, 1)},
			[]*tensor{ft([]int{1, 2, 1, 1}, 12, 34)}, ""},
		{"bias add", biasAdd,
			[]*tensor{ft([]int{2, 2}, 1, 2, 3, 4), ft([]int{2}, 10, 20)},
			[]*tensor{ft([]int{2, 2}, 11, 22, 13, 24)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.op(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d outputs, want %d", len(got), len(tc.want))
			}
			for k := range got {
				g, w := norm0(got[k]), norm0(tc.want[k])
				for j := range g.f {
					if j < len(w.f) && math.Abs(float64(g.f[j]-w.f[j])) < 1e-6 {
						g.f[j] = w.f[j]
					}
				}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("output %d = %+v, want %+v", k, *g, *w)
				}
			}
		})
	}
}
