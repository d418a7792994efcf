package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// setModel splices model into body in place of the top-level model value
// (every one of them, should a client send the key twice), or adds the key
// when it is missing. Every other byte stays as the client sent it: numbers,
// key order and white space carry no meaning to us but may to the upstream's
// caches and logs.
func setModel(body []byte, model string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("openai: set model: body is not a JSON object")
	}
	open := int(dec.InputOffset())
	var spans [][2]int
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("openai: set model: %w", err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("openai: set model: %w", err)
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if tok != "model" {
			continue
		}
		// The decoder reports where the value ended; the guard keeps a
		// misreading from ever corrupting a body.
		if start < 0 || !bytes.Equal(body[start:end], raw) {
			return nil, errors.New("openai: set model: cannot locate the model value")
		}
		spans = append(spans, [2]int{start, end})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("openai: set model: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("openai: set model: data after the JSON object")
	}
	val, err := json.Marshal(model)
	if err != nil {
		return nil, fmt.Errorf("openai: set model: %w", err)
	}
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
