package semantic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"sigs.k8s.io/yaml"
)

// Price is what a model's tokens cost, in USD per million tokens.
type Price struct {
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
}

// Prices is a price table by model name, as the upstream is asked for it
// (the effective model, after routing).
type Prices map[string]Price

// ParsePrices reads a price table, YAML or JSON:
//
//	models:
//	  gpt-4o: {input: 2.50, output: 10.00}
//
// Every problem is reported in one joined error; unknown fields are
// problems, so a typo never silently prices a model at zero.
func ParsePrices(doc []byte) (Prices, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("neither YAML nor JSON: %w", err)
	}
	var table struct {
		Models map[string]json.RawMessage `json:"models"`
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&table); err != nil {
		return nil, fmt.Errorf(`want {"models": {"<model>": {"input": <USD>, "output": <USD>}}}: %w`, err)
	}
	if len(table.Models) == 0 {
		return nil, errors.New("no models: want models: {<model>: {input: <USD per million>, output: <USD per million>}}")
	}
	p := make(Prices, len(table.Models))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(table.Models)) {
		price, err := parsePrice(table.Models[name])
		switch {
		case name == "":
			errs = append(errs, errors.New("a model has an empty name"))
		case err != nil:
			errs = append(errs, fmt.Errorf("model %q: %w", name, err))
		default:
			p[name] = price
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

func parsePrice(raw json.RawMessage) (Price, error) {
	var fields map[string]*float64
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return Price{}, errors.New("want {input: <USD per million tokens>, output: <USD per million tokens>}")
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		if name != "input" && name != "output" {
			errs = append(errs, fmt.Errorf("unknown field %q (want input and output)", name))
		}
		if v != nil && (*v < 0 || math.IsInf(*v, 0) || math.IsNaN(*v)) {
			errs = append(errs, fmt.Errorf("%s: %v is not a price (want 0 or more)", name, *v))
		}
	}
	for _, name := range []string{"input", "output"} {
		if fields[name] == nil {
			errs = append(errs, fmt.Errorf("%s: missing (USD per million tokens; 0 when free)", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Price{}, err
	}
	return Price{Input: *fields["input"], Output: *fields["output"]}, nil
}

// Cost is what u costs on model, in USD; false when the table has no price
// for it.
func (p Prices) Cost(model string, u Usage) (float64, bool) {
	price, ok := p[model]
	if !ok {
		return 0, false
	}
	return (float64(u.InputTokens)*price.Input + float64(u.OutputTokens)*price.Output) / 1e6, true
}
