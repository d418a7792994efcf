package semantic

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseTargetsValid(t *testing.T) {
	want := []Target{
		{Name: "math", Model: "gpt-4o", Descriptions: []string{"mathematics, algebra, calculus", "prove this theorem"}, Threshold: 0.4, API: "openai"},
		{Name: "general", Model: "gpt-4o-mini", Descriptions: []string{"anything else"}, API: "openai", CatchAll: true},
		{Name: "claude", Model: "claude-sonnet-4-5", Descriptions: []string{"poems"}, API: "anthropic", CatchAll: true},
	}
	docs := map[string]string{
		"json": `[{"name": "math", "model": "gpt-4o", "descriptions": ["mathematics, algebra, calculus", "prove this theorem"],
		           "distance_threshold": 0.4, "api": "openai"},
		          {"name": "general", "model": "gpt-4o-mini", "descriptions": ["anything else"], "catch_all": true},
		          {"name": "claude", "model": "claude-sonnet-4-5", "descriptions": ["poems"], "api": "anthropic", "catch_all": true}]`,
		"yaml": `
- name: math
  model: gpt-4o
  descriptions:
    - mathematics, algebra, calculus
    - prove this theorem
  distance_threshold: 0.4
  api: openai
- name: general
  model: gpt-4o-mini
  descriptions: [anything else]
  catch_all: true
- {name: claude, model: claude-sonnet-4-5, descriptions: [poems], api: anthropic, catch_all: true}
`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTargets([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				// The parser keeps an absent api empty; routeAPI reads it
				// as openai.
				got[i].API = routeAPI(got[i].API)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseTargetsErrors(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // every problem, as reported
	}{
		{"not a list", `{"name": "a"}`, []string{"routes: want an array of targets"}},
		{"empty list", `[]`, []string{"routes: the document has no targets"}},
		{"empty document", ``, []string{"routes: the document has no targets"}},
		{"bad yaml", "- name: [", []string{"routes: neither YAML nor JSON"}},
		{"missing everything", `[{}]`, []string{
			"targets[0] name: is required",
			"targets[0] model: is required",
			"targets[0] descriptions: at least one is required",
		}},
		{"not an object", `[{"name":"a","model":"m","descriptions":["d"]}, "b"]`, []string{"targets[1]: want an object"}},
		{"empty description", `[{"name":"a","model":"m","descriptions":["d", " "]}]`, []string{`targets[0] ("a") descriptions[1]: is empty`}},
		{"unknown fields", `[{"name":"a","model":"m","descriptions":["d"],"threshold":0.3,"Model":"x"}]`, []string{
			`targets[0] ("a") Model: unknown field`,
			`targets[0] ("a") threshold: unknown field`,
		}},
		{"duplicate names", `[{"name":"a","model":"m","descriptions":["d"]},{"name":"b","model":"m","descriptions":["d"]},{"name":"a","model":"n","descriptions":["e"]}]`, []string{
			`targets[2] ("a") name: duplicate of targets[0]`,
		}},
		{"thresholds", `[{"name":"a","model":"m","descriptions":["d"],"distance_threshold":0},
		                 {"name":"b","model":"m","descriptions":["d"],"distance_threshold":2.5},
		                 {"name":"c","model":"m","descriptions":["d"],"distance_threshold":-0.1},
		                 {"name":"d","model":"m","descriptions":["d"],"distance_threshold":2}]`, []string{
			`targets[0] ("a") distance_threshold: must be in (0, 2], got 0`,
			`targets[1] ("b") distance_threshold: must be in (0, 2], got 2.5`,
			`targets[2] ("c") distance_threshold: must be in (0, 2], got -0.1`,
		}},
		{"unknown api", `[{"name":"a","model":"m","descriptions":["d"],"api":"azure"}]`, []string{
			`targets[0] ("a") api: must be "openai" or "anthropic", got "azure"`,
		}},
		{"two catch-alls", `[{"name":"a","model":"m","descriptions":["d"],"catch_all":true},
		                     {"name":"b","model":"m","descriptions":["d"],"catch_all":true,"api":"anthropic"},
		                     {"name":"c","model":"m","descriptions":["d"],"catch_all":true,"api":"openai"}]`, []string{
			`targets[2] ("c") catch_all: targets[0] is already the catch-all of api "openai"`,
		}},
		{"wrong types", `[{"name":1,"model":["m"],"descriptions":"d","distance_threshold":"0.3","api":true,"catch_all":"yes please"}]`, []string{
			"targets[0] name: must be a string",
			"targets[0] model: must be a string",
			"targets[0] descriptions: must be an array of strings",
			"targets[0] distance_threshold: must be a number",
			"targets[0] api: must be a string",
			"targets[0] catch_all: must be true or false",
			"targets[0] name: is required",
			"targets[0] model: is required",
			"targets[0] descriptions: at least one is required",
		}},
		{"reserved and unsafe", `[{"name":"none","model":"m","descriptions":["d"]},{"name":"x","model":"m\n","descriptions":["d"]}]`, []string{
			`targets[0] ("none") name: "none" is reserved: X-Semproc-Route says none when no target is chosen`,
			`targets[1] ("x") model: must not contain control characters`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseTargets([]byte(c.doc))
			if err == nil {
				t.Fatalf("no error; targets %+v", got)
			}
			if got != nil {
				t.Errorf("targets %+v returned with an error", got)
			}
			problems := []error{err}
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				problems = joined.Unwrap()
			}
			var msgs []string
			for _, p := range problems {
				msgs = append(msgs, p.Error())
			}
			if len(msgs) != len(c.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(msgs), len(c.want), strings.Join(msgs, "\n"))
			}
			for i, w := range c.want {
				if !strings.HasPrefix(msgs[i], w) {
					t.Errorf("problem %d = %q, want %q", i, msgs[i], w)
				}
			}
			if strings.HasPrefix(c.want[0], "targets[") {
				var te *TargetError
				if !errors.As(problems[0], &te) {
					t.Errorf("problem %v is not a *TargetError", problems[0])
				}
			}
		})
	}
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{
		`[{"name":"a","model":"m","descriptions":["d"],"distance_threshold":0.3,"api":"anthropic","catch_all":true}]`,
		"- name: a\n  model: m\n  descriptions: [x]\n",
		`[{}]`, `[1, null, "x"]`, `{"a":1}`, "- name: [", `[{"name":"a","model":"m","descriptions":["d"]},{"name":"a"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := ParseTargets(doc)
		if err != nil {
			if got != nil {
				t.Fatal("targets returned with an error")
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("no error and no targets")
		}
		// What the parser accepts, the router accepts.
		if errs := checkTargets(got, nil); len(errs) > 0 {
			t.Fatalf("accepted targets fail the check: %v", errors.Join(errs...))
		}
	})
}
