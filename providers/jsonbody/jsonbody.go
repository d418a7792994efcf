// Package jsonbody holds the JSON handling every LLM wire format shares:
// reading a request body as one object with its numbers as written, and
// replacing its model without touching any other byte.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeObject decodes body as exactly one JSON object. Numbers stay
// json.Number so a fingerprint sees them as the client wrote them.
func DecodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("request body is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("request body has data after its JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("request body is not a JSON object")
	}
	return obj, nil
}

// SetModel splices model into body in place of the top-level model value
// (every one of them, should a client send the key twice), or adds the key
// when it is missing. Every other byte stays as the client sent it: numbers,
// key order and white space carry no meaning to us but may to the upstream's
// caches and logs.
func SetModel(body []byte, model string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("set model: body is not a JSON object")
	}
	open := int(dec.InputOffset())
	var spans [][2]int
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("set model: %w", err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("set model: %w", err)
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if tok != "model" {
			continue
		}
		// The decoder reports where the value ended; the guard keeps a
		// misreading from ever corrupting a body.
		if start < 0 || !bytes.Equal(body[start:end], raw) {
			return nil, errors.New("set model: cannot locate the model value")
		}
		spans = append(spans, [2]int{start, end})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("set model: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("set model: data after the JSON object")
	}
	// Written as a client would: no \u003c for <, > and &.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(model); err != nil {
		return nil, fmt.Errorf("set model: %w", err)
	}
	val := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(spans) == 0 {
		member := append([]byte(`"model":`), val...)
		if bytes.TrimSpace(body[open:])[0] != '}' {
			member = append(member, ',')
		}
		return bytes.Join([][]byte{body[:open], member, body[open:]}, nil), nil
	}
	out := make([]byte, 0, len(body)+len(val))
	prev := 0
	for _, s := range spans {
		out = append(out, body[prev:s[0]]...)
		out = append(out, val...)
		prev = s[1]
	}
	return append(out, body[prev:]...), nil
}
