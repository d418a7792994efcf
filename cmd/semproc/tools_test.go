package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semproc/semproc/extproc"
)

// toolEnv points the tools at a fake OpenAI-compatible embeddings server.
func toolEnv(t *testing.T, extra map[string]string) []string {
	t.Helper()
	emb := httptest.NewServer(&fakeEmbeddings{})
	t.Cleanup(emb.Close)
	env := map[string]string{
		"SEMPROC_EMBEDDINGS_PROVIDER": "openai", "SEMPROC_EMBEDDINGS_URL": emb.URL, "SEMPROC_EMBEDDINGS_DIMENSIONS": "64",
	}
	for k, v := range extra {
		env[k] = v
	}
	return environOf(env)
}

func TestEvalCommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pairs.jsonl")
	pairs := `{"a":"what is the capital of france","b":"what is the capital of france please","duplicate":true}
{"a":"how do volcanoes erupt","b":"how do volcanoes erupt exactly","duplicate":true}
{"a":"best pasta recipe","b":"how do planes fly","duplicate":false}
{"a":"how do volcanoes erupt","b":"how do planes fly","duplicate":false}
`
	if err := os.WriteFile(file, []byte(pairs), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		want  []string
	}{
		{nil, []string{"threshold", "0.100", "0.300", "recommended SEMPROC_CACHE_DISTANCE_THRESHOLD="}},
		{[]string{"-without", "score,modifier"}, []string{"0.300", "without score,modifier"}},
		{[]string{"-pairs"}, []string{"at threshold 0.3: outcome", "\t\"how do planes fly\"\t\"", "\t\"how do volcanoes erupt exactly\"\t\"how do volcanoes erupt\"\t"}},
		// Replaying, the first "how do planes fly" is stored when it is
		// turned away; the exact layer serves it to the second.
		{[]string{"-replay", "-pairs"}, []string{"0.300", "(2 positives, 2 negatives", "replay: each miss stored)",
			"false hit\t0\t\"how do planes fly\"\t\"how do planes fly\"\texact match"}},
	} {
		var out strings.Builder
		args := append(append([]string{"eval", "-from", "0.1", "-to", "0.3", "-step", "0.1"}, tc.flags...), file)
		if err := run(context.Background(), args, toolEnv(t, nil), &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		for _, want := range tc.want {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out.String())
			}
		}
	}
}

func TestExplainCommand(t *testing.T) {
	routes := `[{"name":"geo","model":"geo-model","descriptions":["capital city of a country"]},
{"name":"other","model":"other-model","descriptions":["anything else"],"catch_all":true}]`
	headers := filepath.Join(t.TempDir(), "headers")
	if err := os.WriteFile(headers, []byte("Authorization: Bearer a-tenant\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := run(context.Background(), []string{"explain", "-system", "be brief", "-headers", headers, "what is the capital city of france"},
		toolEnv(t, map[string]string{"SEMPROC_ROUTES": routes, "SEMPROC_ROUTING_DISTANCE_THRESHOLD": "0.6"}), &out)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, out.String())
	}
	for _, want := range []string{`embedded text   "what is the capital city of france"`, "target geo", "route decision  target=geo model=\"geo-model\"", "cache lookup    Miss"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestExplainScopeFollowsConfiguredHeaders(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "headers")
	if err := os.WriteFile(file, []byte("Authorization: Bearer sk-not-a-scope\nX-Tenant-Key: tenant-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, scopeHeaders string
		want               map[string]string
		names              string
	}{
		{"configured header", "x-tenant-key", map[string]string{"x-tenant-key": "tenant-secret"}, "(from x-tenant-key)"},
		{"default headers", "", map[string]string{"authorization": "Bearer sk-not-a-scope"}, "(from authorization)"},
		{"none present", "api-key", nil, "(from no scope header: the anonymous scope)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			names := []string{"authorization", "x-api-key", "api-key"}
			if tt.scopeHeaders != "" {
				env["SEMPROC_CACHE_SCOPE_HEADERS"] = tt.scopeHeaders
				names = []string{tt.scopeHeaders}
			}
			var out strings.Builder
			if err := run(context.Background(), []string{"explain", "-headers", file, "hello"}, toolEnv(t, env), &out); err != nil {
				t.Fatalf("explain: %v\n%s", err, out.String())
			}
			want := fmt.Sprintf("scope=%.12s… %s", extproc.Scope(tt.want, names), tt.names)
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
			if strings.Contains(out.String(), "secret") || strings.Contains(out.String(), "sk-not") {
				t.Errorf("output shows a header value:\n%s", out.String())
			}
		})
	}
}

// Without a tenant's headers explain says the request is not cached;
// -against answers whether one prompt's stored answer serves another.
func TestExplainAnonymousAndAgainst(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "what is the capital of france"}, "Bypass: none of the scope headers"},
		{[]string{"explain", "-against", "how do I install docker on ubuntu", "how do I uninstall docker on ubuntu"}, `Miss: rejected: "uninstall" and "install" are opposites`},
		{[]string{"explain", "-against", "What is the capital of France?", "whats the capital of france"}, "Hit: accepted: every content word aligns"},
	} {
		var out strings.Builder
		// The tools' fake embedder puts these pairs 0.11–0.33 apart.
		env := toolEnv(t, map[string]string{"SEMPROC_CACHE_DISTANCE_THRESHOLD": "0.5"})
		if err := run(context.Background(), tc.args, env, &out); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out.String())
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.want, out.String())
		}
	}
}
