package semantic

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Target is one model the router can send requests to (SPEC §4).
type Target struct {
	Name  string `json:"name"`
	Model string `json:"model"`
	// Descriptions are compared with the request's text; the nearest one
	// gives the target's distance.
	Descriptions []string `json:"descriptions"`
	// Threshold is the largest distance at which the target takes a
	// request; 0 means the router's default.
	Threshold float64 `json:"distance_threshold,omitempty"`
	// API says which requests the target can take: "openai" (also when
	// empty) or "anthropic".
	API      string `json:"api,omitempty"`
	CatchAll bool   `json:"catch_all,omitempty"`
}

// TargetError is one problem of one target in a routes document.
type TargetError struct {
	// Index is the target's position in the document, from 0.
	Index int
	// Name is the target's name, when it has a usable one.
	Name string
	// Field is the document's field name; empty for the target as a whole.
	Field   string
	Problem string
}

func (e *TargetError) Error() string {
	s := fmt.Sprintf("targets[%d]", e.Index)
	if e.Name != "" {
		s += fmt.Sprintf(" (%q)", e.Name)
	}
	if e.Field != "" {
		s += " " + e.Field
	}
	return s + ": " + e.Problem
}

// routeAPI returns the API a target or request belongs to.
func routeAPI(api string) string {
	if api == "" {
		return "openai"
	}
	return api
}

// ParseTargets reads a routes document: a YAML or JSON array of targets.
// Every problem is reported, each as a *TargetError, in one joined error.
func ParseTargets(doc []byte) ([]Target, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("routes: neither YAML nor JSON: %w", err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(js, &raws); err != nil {
		return nil, errors.New("routes: want an array of targets")
	}
	if len(raws) == 0 {
		return nil, errors.New("routes: the document has no targets")
	}
	targets := make([]Target, len(raws))
	notObjects := map[int]bool{}
	var errs []error
	for i, raw := range raws {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
			errs = append(errs, &TargetError{Index: i, Problem: "want an object"})
			notObjects[i] = true
			continue
		}
		var t []error
		targets[i], t = parseTarget(i, fields)
		errs = append(errs, t...)
	}
	errs = append(errs, checkTargets(targets, notObjects)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return targets, nil
}

// parseTarget decodes one target field by field, so that every unknown or
// mistyped field is reported, not just the first.
func parseTarget(i int, fields map[string]json.RawMessage) (Target, []error) {
	var t Target
	var errs []error
	// The name labels every other problem, so it is read first.
	nameErr := decodeField(fields, "name", &t.Name, "a string")
	label := ""
	if nameErr == "" {
		label = t.Name
	}
	bad := func(field, problem string) {
		errs = append(errs, &TargetError{Index: i, Name: label, Field: field, Problem: problem})
	}
	if nameErr != "" {
		bad("name", nameErr)
	}
	for _, f := range []struct {
		name, want string
		into       any
	}{
		{"model", "a string", &t.Model},
		{"descriptions", "an array of strings", &t.Descriptions},
		{"distance_threshold", "a number", &t.Threshold},
		{"api", "a string", &t.API},
		{"catch_all", "true or false", &t.CatchAll},
	} {
		if p := decodeField(fields, f.name, f.into, f.want); p != "" {
			bad(f.name, p)
		}
	}
	// checkTargets takes 0 for "the default", so an explicit 0 is caught
	// here.
	var explicit *float64
	if json.Unmarshal(fields["distance_threshold"], &explicit) == nil && explicit != nil && *explicit == 0 {
		bad("distance_threshold", "must be in (0, 2], got 0")
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch k {
		case "name", "model", "descriptions", "distance_threshold", "api", "catch_all":
		default:
			bad(k, "unknown field")
		}
	}
	return t, errs
}

// decodeField decodes fields[name] into v, and says what is wrong if it
// cannot. A missing field leaves v alone.
func decodeField(fields map[string]json.RawMessage, name string, v any, want string) string {
	raw, ok := fields[name]
	if !ok {
		return ""
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return "must be " + want
	}
	return ""
}

// checkTargets reports what makes a list of targets unusable, whether it
// came from a document or from code. Targets in skip were not objects and
// are reported already.
func checkTargets(targets []Target, skip map[int]bool) []error {
	var errs []error
	firstByName := map[string]int{}
	catchAllByAPI := map[string]int{}
	for i, t := range targets {
		if skip[i] {
			continue
		}
		bad := func(field, problem string) {
			errs = append(errs, &TargetError{Index: i, Name: t.Name, Field: field, Problem: problem})
		}
		switch {
		case strings.TrimSpace(t.Name) == "":
			bad("name", "is required")
		case t.Name == "none":
			bad("name", `"none" is reserved: X-Semproc-Route says none when no target is chosen`)
		case !HeaderSafe(t.Name):
			bad("name", "must not contain control characters")
		}
		if prev, ok := firstByName[t.Name]; ok && t.Name != "" {
			bad("name", fmt.Sprintf("duplicate of targets[%d]", prev))
		} else {
			firstByName[t.Name] = i
		}
		switch {
		case strings.TrimSpace(t.Model) == "":
			bad("model", "is required")
		case !HeaderSafe(t.Model):
			bad("model", "must not contain control characters")
		}
		if len(t.Descriptions) == 0 {
			bad("descriptions", "at least one is required")
		}
		for j, d := range t.Descriptions {
			if strings.TrimSpace(d) == "" {
				bad(fmt.Sprintf("descriptions[%d]", j), "is empty")
			}
		}
		if !(t.Threshold >= 0 && t.Threshold <= 2) { // also catches NaN
			bad("distance_threshold", fmt.Sprintf("must be in (0, 2], got %g", t.Threshold))
		}
		api := routeAPI(t.API)
		if api != "openai" && api != "anthropic" {
			bad("api", fmt.Sprintf(`must be "openai" or "anthropic", got %q`, t.API))
		}
		if t.CatchAll {
			if prev, ok := catchAllByAPI[api]; ok {
				bad("catch_all", fmt.Sprintf("targets[%d] is already the catch-all of api %q", prev, api))
			} else {
				catchAllByAPI[api] = i
			}
		}
	}
	return errs
}

// HeaderSafe says whether s can go into a header value: names and models
// are sent in X-Semproc-Route, X-Semproc-Model and the model header.
func HeaderSafe(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
