package local

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// modelFile is the part of a TensorFlow.js graph model's model.json that the
// interpreter reads.
type modelFile struct {
	ModelTopology struct {
		Node []nodeDef `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string     `json:"paths"`
		Weights []weightSpec `json:"weights"`
	} `json:"weightsManifest"`
}

type weightSpec struct {
	Name         string          `json:"name"`
	Shape        []int           `json:"shape"`
	Dtype        string          `json:"dtype"`
	Quantization json.RawMessage `json:"quantization"`
}

// ref names one output of one node.
type ref struct{ node, output int }

type step struct {
	name   string
	op     string
	spec   opSpec
	node   int
	inputs []ref
}

// graph is the model planned once at load: the steps that lead to the
// output in dependency order, the constants decoded, and the slots of the
// two placeholders. Running it allocates only the values of one call, so
// one graph serves concurrent calls.
type graph struct {
	nodes  int
	consts map[int]*tensor
	inputs map[string]int
	steps  []step
	output ref
}

func loadGraph(dir string) (*graph, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, err
	}
	var mf modelFile
	if err := json.Unmarshal(raw, &mf); err != nil {
		return nil, fmt.Errorf("model.json: %w", err)
	}
	weights, err := loadWeights(dir, &mf)
	if err != nil {
		return nil, err
	}
	return planGraph(mf.ModelTopology.Node, weights)
}

// loadWeights decodes the weight shards: the manifest's weights, in order,
// packed little-endian across the concatenated shard files.
func loadWeights(dir string, mf *modelFile) (map[string]*tensor, error) {
	out := map[string]*tensor{}
	for _, group := range mf.WeightsManifest {
		var buf []byte
		for _, p := range group.Paths {
			if p != filepath.Base(p) {
				return nil, fmt.Errorf("weight shard path %q leaves the model directory", p)
			}
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				return nil, err
			}
			buf = append(buf, b...)
		}
		for _, w := range group.Weights {
			if w.Quantization != nil {
				return nil, fmt.Errorf("weight %s: quantized weights unsupported", w.Name)
			}
			n := numElements(w.Shape)
			if n < 0 || 4*n > len(buf) {
				return nil, fmt.Errorf("weight %s %v: shards too short", w.Name, w.Shape)
			}
			t := &tensor{shape: w.Shape}
			switch w.Dtype {
			case "float32":
				t.dt, t.f = float32T, make([]float32, n)
				for k := range t.f {
					t.f[k] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*k:]))
				}
			case "int32":
				t.dt, t.i = int32T, make([]int32, n)
				for k := range t.i {
					t.i[k] = int32(binary.LittleEndian.Uint32(buf[4*k:]))
				}
			default:
				return nil, fmt.Errorf("weight %s: dtype %s unsupported", w.Name, w.Dtype)
			}
			out[w.Name] = t
			buf = buf[4*n:]
		}
		if len(buf) != 0 {
			return nil, fmt.Errorf("weight shards hold %d bytes more than the manifest", len(buf))
		}
	}
	return out, nil
}

// parseRef splits "name", "name:1" into a node name and an output index;
// control inputs ("^name") carry no data.
func parseRef(s string) (name string, output int, control bool, err error) {
	if strings.HasPrefix(s, "^") {
		return s[1:], 0, true, nil
	}
	if k := strings.LastIndexByte(s, ':'); k >= 0 {
		n, err := strconv.Atoi(s[k+1:])
		if err != nil {
			return "", 0, false, fmt.Errorf("input %q: %w", s, err)
		}
		return s[:k], n, false, nil
	}
	return s, 0, false, nil
}

func planGraph(defs []nodeDef, weights map[string]*tensor) (*graph, error) {
	g := &graph{nodes: len(defs), consts: map[int]*tensor{}, inputs: map[string]int{}}
	index := make(map[string]int, len(defs))
	for k := range defs {
		if _, dup := index[defs[k].Name]; dup {
			return nil, fmt.Errorf("duplicate node %s", defs[k].Name)
		}
		index[defs[k].Name] = k
	}
	specs := make([]opSpec, len(defs))
	inputs := make([][]ref, len(defs))
	consumed := make([]bool, len(defs))
	for k := range defs {
		d := &defs[k]
		for _, in := range d.Input {
			name, out, control, err := parseRef(in)
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", d.Name, err)
			}
			j, ok := index[name]
			if !ok {
				return nil, fmt.Errorf("node %s: unknown input %s", d.Name, name)
			}
			consumed[j] = true
			if !control {
				inputs[k] = append(inputs[k], ref{j, out})
			}
		}
		switch d.Op {
		case "Const":
			w, ok := weights[d.Name]
			if !ok {
				return nil, fmt.Errorf("constant %s has no weights", d.Name)
			}
			g.consts[k] = w
			specs[k].outputs = 1
		case "Placeholder":
			g.inputs[d.Name] = k
			specs[k].outputs = 1
		default:
			spec, err := newOp(d)
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", d.Name, err)
			}
			if spec.inputs >= 0 && len(inputs[k]) != spec.inputs || len(inputs[k]) == 0 {
				return nil, fmt.Errorf("node %s (%s): %d inputs", d.Name, d.Op, len(inputs[k]))
			}
			specs[k] = spec
		}
	}
	out := -1
	for k := range defs {
		if !consumed[k] && defs[k].Op != "Const" && defs[k].Op != "Placeholder" {
			if out >= 0 {
				return nil, fmt.Errorf("several outputs: %s and %s", defs[out].Name, defs[k].Name)
			}
			out = k
		}
	}
	if out < 0 {
		return nil, fmt.Errorf("graph has no output")
	}
	g.output = ref{out, 0}
	// Depth-first from the output: each node after its inputs, each once.
	state := make([]uint8, len(defs)) // 0 new, 1 on the stack, 2 planned
	var visit func(k int) error
	visit = func(k int) error {
		switch state[k] {
		case 1:
			return fmt.Errorf("cycle through node %s", defs[k].Name)
		case 2:
			return nil
		}
		state[k] = 1
		for _, in := range inputs[k] {
			if in.output >= specs[in.node].outputs {
				return fmt.Errorf("node %s reads output %d of %s", defs[k].Name, in.output, defs[in.node].Name)
			}
			if err := visit(in.node); err != nil {
				return err
			}
		}
		state[k] = 2
		if specs[k].run != nil {
			g.steps = append(g.steps, step{name: defs[k].Name, op: defs[k].Op, spec: specs[k], node: k, inputs: inputs[k]})
		}
		return nil
	}
	if err := visit(out); err != nil {
		return nil, err
	}
	return g, nil
}

// run feeds the placeholders and returns the output.
func (g *graph) run(ctx context.Context, feeds map[string]*tensor) (*tensor, error) {
	vals := make([][]*tensor, g.nodes)
	for k, t := range g.consts {
		vals[k] = []*tensor{t}
	}
	for name, k := range g.inputs {
		t, ok := feeds[name]
		if !ok {
			return nil, fmt.Errorf("no value for input %s", name)
		}
		vals[k] = []*tensor{t}
	}
	var in []*tensor
	for _, s := range g.steps {
		// A request that timed out stops costing CPU at the next step.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in = in[:0]
		for _, r := range s.inputs {
			in = append(in, vals[r.node][r.output])
		}
		out, err := s.spec.run(in)
		if err != nil {
			return nil, fmt.Errorf("node %s (%s): %w", s.name, s.op, err)
		}
		if len(out) != s.spec.outputs {
			return nil, fmt.Errorf("node %s (%s): %d outputs, want %d", s.name, s.op, len(out), s.spec.outputs)
		}
		vals[s.node] = out
	}
	return vals[g.output.node][g.output.output], nil
}
