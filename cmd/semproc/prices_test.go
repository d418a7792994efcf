package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pricesFile writes a price table for the test's models.
func pricesFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prices.yaml")
	doc := "models:\n  gpt-4o-mini: {input: 0.15, output: 0.60}\n  gpt-4o: {input: 2.5, output: 10}\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPricesFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "prices.yaml")
	if err := os.WriteFile(bad, []byte("models:\n  gpt-4o: {input: -1, output: 10}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       []string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), []string{"SEMPROC_PRICES_FILE", "nope.yaml"}},
		{"bad price", bad, []string{"SEMPROC_PRICES_FILE " + bad, `model "gpt-4o": input: -1 is not a price`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environOf(map[string]string{
				"SEMPROC_GRPC_ADDR": "127.0.0.1:0", "SEMPROC_ADMIN_ADDR": "127.0.0.1:0", "SEMPROC_PRICES_FILE": tt.path,
				"SEMPROC_EMBEDDINGS_PROVIDER": "openai", "SEMPROC_EMBEDDINGS_URL": "http://127.0.0.1:1", "SEMPROC_EMBEDDINGS_DIMENSIONS": "8",
			})
			err := serve(t.Context(), env, io.Discard, nil)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("serve = %v, want a configuration error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
