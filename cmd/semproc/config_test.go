package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

var update = flag.Bool("update", false, "rewrite the README's configuration table")

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// environOf is kv as the KEY=value entries run and serve take.
func environOf(kv map[string]string) []string {
	var out []string
	for k, v := range kv {
		out = append(out, k+"="+v)
	}
	return out
}

func TestConfigDefaultsMatchSpec(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.GRPCAddr != "127.0.0.1:50051" || c.AdminAddr != "127.0.0.1:9090" || c.EmbeddingsProvider != "local" || c.VectorDB != "memory" ||
		c.EmbeddingsTimeout != 2*time.Second || c.CacheTTL != time.Hour || c.CacheMessageCountback != 1 || !c.CacheEnabled ||
		c.RoutingMode != "auto" || c.RoutingModelHeader != "x-semproc-model" || c.RedisStorage != "json" || c.RedisQuery != "range" ||
		c.LogLevel != "info" || c.LogFormat != "json" || c.CacheDistanceThreshold != nil {
		t.Errorf("defaults differ from SPEC §6: %+v", c)
	}
	if strings.Join(c.CacheScopeHeaders, ",") != "authorization,x-api-key,api-key" {
		t.Errorf("scope headers %v", c.CacheScopeHeaders)
	}
}

func TestConfigNamesEveryBadVariable(t *testing.T) {
	env := map[string]string{
		"SEMPROC_GRPC_ADDR":                "nope",
		"SEMPROC_EMBEDDINGS_PROVIDER":      "azure",
		"SEMPROC_VECTORDB":                 "redis",
		"SEMPROC_CACHE_DISTANCE_THRESHOLD": "3",
		"SEMPROC_ROUTING_MODE":             "sometimes",
		"SEMPROC_ROUTES":                   "[]",
		"SEMPROC_ROUTES_FILE":              "/x",
		"SEMPROC_EMBEDDINGS_TIMEOUT":       "0s",
		"SEMPROC_MEMORY_MAX_BYTES":         "-1",
		"SEMPROC_CACHE_VERIFIER_CUTOFF":    "1.5",
	}
	_, err := loadConfig(envOf(env))
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("want a configError, got %v", err)
	}
	for _, name := range []string{"SEMPROC_GRPC_ADDR", "SEMPROC_EMBEDDINGS_URL", "SEMPROC_REDIS_URL", "SEMPROC_CACHE_DISTANCE_THRESHOLD", "SEMPROC_ROUTING_MODE", "SEMPROC_ROUTES", "SEMPROC_EMBEDDINGS_TIMEOUT", "SEMPROC_MEMORY_MAX_BYTES", "SEMPROC_CACHE_VERIFIER_CUTOFF"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if _, err := loadConfig(envOf(map[string]string{"SEMPROC_CACHE_TTL": "an hour"})); !strings.Contains(fmtErr(err), "SEMPROC_CACHE_TTL") {
		t.Errorf("an unparsable duration is not named: %v", err)
	}
}

// The verifier serves with the fitted cutoff unless the operator sets one.
func TestVerifierCutoff(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want float64
	}{
		{nil, semantic.FittedAcceptModel().Cutoff},
		{map[string]string{"SEMPROC_CACHE_VERIFIER_CUTOFF": "0.7"}, 0.7},
		{map[string]string{"SEMPROC_CACHE_VERIFIER_CUTOFF": "1"}, 1},
	} {
		cfg, err := loadConfig(envOf(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		c, ok := newVerifier(cfg, nil, 0.3).(*semantic.Checker)
		if !ok || c.Score == nil || c.Score.Cutoff != tc.want {
			t.Errorf("%v: verifier %+v; want the score at cutoff %g", tc.env, c, tc.want)
		}
	}
}

func TestConfigRejectsNegativeBoundPerScope(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{"SEMPROC_CACHE_MAX_ENTRIES_PER_SCOPE": "-1"}))
	if !strings.Contains(fmtErr(err), "SEMPROC_CACHE_MAX_ENTRIES_PER_SCOPE") {
		t.Errorf("a negative bound is not named: %v", err)
	}
	c, err := loadConfig(envOf(map[string]string{"SEMPROC_CACHE_MAX_ENTRIES_PER_SCOPE": "500", "SEMPROC_VECTORDB": "redis", "SEMPROC_REDIS_URL": "redis://127.0.0.1:6379"}))
	if err != nil {
		t.Fatal(err)
	}
	if o, err := redisOptions(c, 4, slog.New(slog.DiscardHandler)); err != nil || o.MaxEntriesPerScope != 500 {
		t.Errorf("redis options bound %d (%v), want 500", o.MaxEntriesPerScope, err)
	}
}

func TestConfigReportsEveryErrorOnItsOwnLine(t *testing.T) {
	env := map[string]string{
		"SEMPROC_CACHE_DISTANCE_THRESHOLD": "abc",
		"SEMPROC_VECTORDB":                 "nope",
		"SEMPROC_CACHE_TTL":                "an hour",
		"SEMPROC_MAX_REQUEST_BYTES":        "100",
		"SEMPROC_REDIS_PASSWORD":           "hunter2",
		"SEMPROC_REDIS_PASSWORD_FILE":      "/run/secrets/redis",
		"SEMPROC_CACHE_ENABLED":            "maybe",
		"SEMPROC_LOOKUP_TIMEOUT":           "0s",
		"SEMPROC_ADMIN_TOKEN":              "s3cret-token",
		"SEMPROC_ADMIN_TOKEN_FILE":         "/run/secrets/admin",
	}
	_, err := loadConfig(envOf(env))
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("want a configError, got %v", err)
	}
	lines := strings.Split(strings.TrimPrefix(err.Error(), "invalid configuration:\n"), "\n")
	want := []string{
		`SEMPROC_CACHE_DISTANCE_THRESHOLD="abc": allowed: a number`,
		`SEMPROC_VECTORDB="nope": allowed: memory, redis`,
		`SEMPROC_CACHE_TTL="an hour": allowed: a duration (250ms, 1h)`,
		`SEMPROC_MAX_REQUEST_BYTES="100": allowed: a whole number of at least 1024`,
		`SEMPROC_REDIS_PASSWORD_FILE="/run/secrets/redis": conflicts with SEMPROC_REDIS_PASSWORD: set only one`,
		`SEMPROC_CACHE_ENABLED="maybe": allowed: true or false`,
		`SEMPROC_LOOKUP_TIMEOUT="0s": allowed: a positive duration (250ms, 1h)`,
		`SEMPROC_ADMIN_TOKEN_FILE="/run/secrets/admin": conflicts with SEMPROC_ADMIN_TOKEN: set only one`,
	}
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("no line %s in:\n%v", w, err)
		}
	}
	if len(lines) != len(want) {
		t.Errorf("%d lines, want one per bad variable (%d):\n%v", len(lines), len(want), err)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret-token") {
		t.Errorf("the message shows a secret:\n%v", err)
	}
	if err := run(context.Background(), nil, environOf(env), io.Discard); !errors.As(err, &ce) {
		t.Errorf("run: %v, want a configError (exit status 2)", err)
	}
}

func TestMaskSecret(t *testing.T) {
	for _, tt := range []struct{ name, value, want string }{
		{"SEMPROC_EMBEDDINGS_API_KEY", "sk-123", "****"},
		{"SEMPROC_REDIS_PASSWORD", "hunter2", "****"},
		{"SEMPROC_ADMIN_TOKEN", "t", "****"},
		{"SEMPROC_REDIS_URL", "redis://app:hunter2@redis:6379/0", "redis://app:xxxxx@redis:6379/0"},
		{"SEMPROC_REDIS_URL", "redis://ap p:hunter2@redis:6379/%zz", "****"},
		{"SEMPROC_VECTORDB", "nope", "nope"},
	} {
		if got := maskSecret(tt.name, tt.value); got != tt.want {
			t.Errorf("maskSecret(%s, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMissingLocalModelIsAConfigError(t *testing.T) {
	err := run(context.Background(), nil, environOf(map[string]string{"SEMPROC_EMBEDDINGS_MODEL_DIR": t.TempDir()}), os.Stderr)
	var ce *configError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "semproc model pull") {
		t.Errorf("want a configError that says how to get the model, got %v", err)
	}
}

const (
	tableStart = "<!-- config-table:start (generated by `make docs` from cmd/semproc/config.go) -->\n"
	tableEnd   = "<!-- config-table:end -->"
)

func TestREADMEConfigTable(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, tableStart), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q … %q", tableStart, tableEnd)
	}
	want := readme[:i+len(tableStart)] + configTable() + readme[j:]
	if want == readme {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("README's configuration table differs from the Config struct: run `make docs`")
}

// configTable renders the README's configuration table.
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, f := range configFields() {
		def := ""
		if f.Default != "" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, def, strings.ReplaceAll(f.Doc, "|", `\|`))
	}
	return b.String()
}
