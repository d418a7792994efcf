package openai

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/semproc/semproc/providers/sse"
)

// assembler builds one completion from the events of a stream.
type assembler struct {
	d       dialect
	c       completion
	choices []*choiceBuilder
	done    bool
}

type choiceBuilder struct {
	index    int
	role     string
	names    []string
	texts    []*strings.Builder
	logprobs logprobsMerger
	finish   string
}

// event takes the next event of the stream.
func (a *assembler) event(ev sse.Event) error {
	if a.done {
		return fmt.Errorf("%w: event after [DONE]", errInvalid)
	}
	if ev.Name == "error" {
		return fmt.Errorf("%w: error event", errUpstream)
	}
	if ev.Data == "[DONE]" {
		a.done = true
		return nil
	}
	var w wireBody
	if err := json.Unmarshal([]byte(ev.Data), &w); err != nil {
		return fmt.Errorf("%w: chunk: %w", errInvalid, err)
	}
	if !isNull(w.Error) {
		return errUpstream
	}
	// Azure's first chunk carries only prompt filter results, with an empty
	// id and a zero created: keep the first real value of each.
	if a.c.ID == "" {
		a.c.ID = w.ID
	}
	if a.c.Created == "" || a.c.Created == "0" {
		a.c.Created = w.Created
	}
	if a.c.Model == "" {
		a.c.Model = w.Model
	}
	if a.c.SystemFingerprint == nil {
		a.c.SystemFingerprint = w.SystemFingerprint
	}
	if !isNull(w.Usage) {
		a.c.Usage = w.Usage
	}
	for _, wc := range w.Choices {
		if err := a.choice(wc); err != nil {
			return err
		}
	}
	return nil
}

func (a *assembler) choice(wc wireChoice) error {
	if wc.Index < 0 {
		return fmt.Errorf("%w: choice index %d", errInvalid, wc.Index)
	}
	b := a.builder(wc.Index)
	if a.d == chatDialect && wc.Delta != nil {
		role, fields, err := readMessage(wc.Delta)
		if err != nil {
			return err
		}
		if role != "" {
			b.role = role
		}
		for _, f := range fields {
			b.append(f.Name, f.Text)
		}
	}
	if a.d == legacyDialect && wc.Text != nil {
		b.append("text", *wc.Text)
	}
	if err := b.logprobs.add(wc.Logprobs); err != nil {
		return err
	}
	if wc.FinishReason != nil && *wc.FinishReason != "" {
		b.finish = *wc.FinishReason
	}
	return nil
}

func (a *assembler) builder(index int) *choiceBuilder {
	for _, b := range a.choices {
		if b.index == index {
			return b
		}
	}
	b := &choiceBuilder{index: index}
	a.choices = append(a.choices, b)
	return b
}

func (b *choiceBuilder) append(name, text string) {
	i := slices.Index(b.names, name)
	if i < 0 {
		i = len(b.names)
		b.names = append(b.names, name)
		b.texts = append(b.texts, &strings.Builder{})
	}
	b.texts[i].WriteString(text)
}

// finish returns the assembled completion once the stream has ended.
func (a *assembler) finish() (completion, error) {
	if !a.done {
		return completion{}, fmt.Errorf("%w: no [DONE]", errTruncated)
	}
	c := a.c
	slices.SortFunc(a.choices, func(x, y *choiceBuilder) int { return x.index - y.index })
	for _, b := range a.choices {
		ch := choice{Index: b.index, Role: b.role, FinishReason: b.finish}
		for i, name := range b.names {
			ch.Fields = append(ch.Fields, field{Name: name, Text: b.texts[i].String()})
		}
		lp, err := b.logprobs.result()
		if err != nil {
			return completion{}, err
		}
		ch.Logprobs = lp
		c.Choices = append(c.Choices, ch)
	}
	return c, c.storable()
}

// logprobsMerger concatenates the arrays of the logprobs objects of a
// stream's chunks, key by key (chat: content, refusal; legacy: tokens,
// token_logprobs, top_logprobs, text_offset).
type logprobsMerger struct {
	keys   []string
	arrays map[string][]json.RawMessage
}

func (m *logprobsMerger) add(v json.RawMessage) error {
	if isNull(v) {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return fmt.Errorf("%w: logprobs: %w", errUnsupported, err)
	}
	if m.arrays == nil {
		m.arrays = make(map[string][]json.RawMessage, len(obj))
	}
	for k, val := range obj {
		if _, ok := m.arrays[k]; !ok {
			m.keys = append(m.keys, k)
			m.arrays[k] = nil
		}
		if isNull(val) {
			continue
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(val, &arr); err != nil {
			return fmt.Errorf("%w: logprobs %q: %w", errUnsupported, k, err)
		}
		m.arrays[k] = append(m.arrays[k], arr...)
	}
	return nil
}

// result is nil when no chunk had logprobs.
func (m *logprobsMerger) result() (json.RawMessage, error) {
	if m.keys == nil {
		return nil, nil
	}
	slices.Sort(m.keys)
	o := make(object, len(m.keys))
	for i, k := range m.keys {
		o[i] = member{k, m.arrays[k]}
	}
	b, err := marshal(o)
	if err != nil {
		return nil, fmt.Errorf("logprobs: %w", err)
	}
	return b, nil
}
