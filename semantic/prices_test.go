package semantic

import (
	"math"
	"strings"
	"testing"
)

func TestParsePrices(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Prices
		errs []string // each must appear in the error
	}{
		{"yaml", "models:\n  gpt-4o: {input: 2.5, output: 10}\n  free: {input: 0, output: 0}\n",
			Prices{"gpt-4o": {Input: 2.5, Output: 10}, "free": {}}, nil},
		{"json", `{"models": {"claude-sonnet-4-5": {"input": 3, "output": 15}}}`,
			Prices{"claude-sonnet-4-5": {Input: 3, Output: 15}}, nil},
		{"not a document", "models: [", nil, []string{"neither YAML nor JSON"}},
		{"a list", "- gpt-4o", nil, []string{`want {"models"`}},
		{"unknown top-level field", "model:\n  gpt-4o: {input: 1, output: 2}\n", nil, []string{`unknown field "model"`}},
		{"no models", "models: {}\n", nil, []string{"no models"}},
		{"every problem at once", "models:\n  a: {input: -1, output: 2}\n  b: {input: 1}\n  c: {input: 1, output: 2, cached: 1}\n  d: 5\n", nil,
			[]string{`model "a": input: -1 is not a price`, `model "b": output: missing`, `model "c": unknown field "cached"`, `model "d": want {input`}},
		{"a price that is not a number", "models:\n  a: {input: cheap, output: 1}\n", nil, []string{`model "a": want {input`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrices([]byte(tt.doc))
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatalf("ParsePrices: %v", err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("ParsePrices = %v, want %v", got, tt.want)
				}
				for m, p := range tt.want {
					if got[m] != p {
						t.Errorf("price of %s = %+v, want %+v", m, got[m], p)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("ParsePrices = %v, want an error", got)
			}
			for _, e := range tt.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not say %q", err, e)
				}
			}
		})
	}
}

func TestPricesCost(t *testing.T) {
	p := Prices{"gpt-4o": {Input: 2.5, Output: 10}}
	tests := []struct {
		model string
		u     Usage
		want  float64
		ok    bool
	}{
		{"gpt-4o", Usage{InputTokens: 1000, OutputTokens: 500}, 0.0075, true},
		{"gpt-4o", Usage{}, 0, true},
		{"gpt-4o-mini", Usage{InputTokens: 1000}, 0, false},
	}
	for _, tt := range tests {
		got, ok := p.Cost(tt.model, tt.u)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Cost(%s, %+v) = %v, %v; want %v, %v", tt.model, tt.u, got, ok, tt.want, tt.ok)
		}
	}
}
