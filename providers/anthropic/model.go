package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// SetModel implements extproc.Format. It splices the new value over the
// old one, so every other byte of the body stays as the client wrote it.
func (Messages) SetModel(body []byte, model string) ([]byte, error) {
	value, err := marshal(model)
	if err != nil {
		return nil, fmt.Errorf("anthropic set model: %w", err)
	}
	spans, afterBrace, empty, err := modelSpans(body)
	if err != nil {
		return nil, fmt.Errorf("anthropic set model: %w", err)
	}
	if len(spans) == 0 {
		insert := append([]byte(`"model":`), value...)
		if !empty {
			insert = append(insert, ',')
		}
		return slices.Insert(slices.Clone(body), afterBrace, insert...), nil
	}
	out := slices.Clone(body)
	// Back to front, so earlier spans keep their offsets; a body with the
	// key twice gets both, whichever one a reader takes.
	for i := len(spans) - 1; i >= 0; i-- {
		out = slices.Replace(out, spans[i][0], spans[i][1], value...)
	}
	return out, nil
}

// modelSpans returns the byte ranges of the values of body's top-level
// "model" keys, the offset just past the object's opening brace, and
// whether the object has no key at all.
func modelSpans(body []byte) (spans [][2]int, afterBrace int, empty bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, 0, false, fmt.Errorf("body is not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, 0, false, errors.New("body is not a JSON object")
	}
	afterBrace = int(dec.InputOffset())
	empty = true
	for dec.More() {
		empty = false
		key, err := dec.Token()
		if err != nil {
			return nil, 0, false, fmt.Errorf("body is not JSON: %w", err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, 0, false, fmt.Errorf("body is not JSON: %w", err)
		}
		if key == "model" {
			end := int(dec.InputOffset())
			spans = append(spans, [2]int{end - len(raw), end})
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, 0, false, fmt.Errorf("body is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, 0, false, errors.New("body has data after its JSON object")
	}
	return spans, afterBrace, empty, nil
}
