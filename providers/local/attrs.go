package local

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
)

// nodeDef is one node of a TensorFlow.js graph model (a GraphDef in JSON).
type nodeDef struct {
	Name  string               `json:"name"`
	Op    string               `json:"op"`
	Input []string             `json:"input"`
	Attr  map[string]attrValue `json:"attr"`
}

// attrValue is a protobuf AttrValue in its JSON form: int64s are strings,
// bytes are either base64 or, as in this model, an array of numbers.
type attrValue struct {
	I    json.RawMessage `json:"i"`
	B    *bool           `json:"b"`
	S    json.RawMessage `json:"s"`
	Type json.RawMessage `json:"type"`
	List *struct {
		I []json.RawMessage `json:"i"`
	} `json:"list"`
}

func parseInt(raw json.RawMessage) (int, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strconv.Atoi(s)
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, err
	}
	return n, nil
}

func (d *nodeDef) attrErr(name string, err error) error {
	return fmt.Errorf("node %s (%s): attribute %s: %w", d.Name, d.Op, name, err)
}

// intAttr reads an integer attribute; absent is 0, as in TensorFlow.
func (d *nodeDef) intAttr(name string) (int, error) {
	a, ok := d.Attr[name]
	if !ok || a.I == nil {
		return 0, nil
	}
	v, err := parseInt(a.I)
	if err != nil {
		return 0, d.attrErr(name, err)
	}
	return v, nil
}

// boolAttr reads a boolean attribute; absent is false, as in TensorFlow.
func (d *nodeDef) boolAttr(name string) bool {
	a, ok := d.Attr[name]
	return ok && a.B != nil && *a.B
}

func (d *nodeDef) intsAttr(name string) ([]int, error) {
	a, ok := d.Attr[name]
	if !ok || a.List == nil {
		return nil, nil
	}
	out := make([]int, len(a.List.I))
	for k, raw := range a.List.I {
		v, err := parseInt(raw)
		if err != nil {
			return nil, d.attrErr(name, err)
		}
		out[k] = v
	}
	return out, nil
}

func (d *nodeDef) stringAttr(name, def string) (string, error) {
	a, ok := d.Attr[name]
	if !ok || a.S == nil {
		return def, nil
	}
	var b64 string
	if json.Unmarshal(a.S, &b64) == nil {
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", d.attrErr(name, err)
		}
		return string(b), nil
	}
	var bytes []byte
	var nums []int
	if err := json.Unmarshal(a.S, &nums); err != nil {
		return "", d.attrErr(name, err)
	}
	for _, n := range nums {
		bytes = append(bytes, byte(n))
	}
	return string(bytes), nil
}

// tfTypeNumber maps the enum names some converters write instead of
// numbers.
func tfTypeNumber(name string) (int, bool) {
	switch name {
	case "DT_FLOAT":
		return 1, true
	case "DT_INT32":
		return 3, true
	case "DT_INT64":
		return 9, true
	case "DT_BOOL":
		return 10, true
	}
	return 0, false
}

func (d *nodeDef) typeAttr(name string) (dtype, error) {
	a, ok := d.Attr[name]
	if !ok || a.Type == nil {
		return 0, d.attrErr(name, fmt.Errorf("missing"))
	}
	var v int
	if err := json.Unmarshal(a.Type, &v); err != nil {
		var s string
		if json.Unmarshal(a.Type, &s) != nil {
			return 0, d.attrErr(name, err)
		}
		if v, ok = tfTypeNumber(s); !ok {
			return 0, d.attrErr(name, fmt.Errorf("unknown type %q", s))
		}
	}
	dt, err := dtypeFromTF(v)
	if err != nil {
		return 0, d.attrErr(name, err)
	}
	return dt, nil
}
