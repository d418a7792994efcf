package redisstore

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestLayoutNames(t *testing.T) {
	l := newLayout(StorageJSON, "OpenAI/Text-Embedding-3-Small", 1536)
	if l.namespace != "json:openai-text-embedding-3-small:1536" {
		t.Errorf("namespace = %q", l.namespace)
	}
	if l.index != "idx:semproc:json:openai-text-embedding-3-small:1536" {
		t.Errorf("index = %q", l.index)
	}
	if got := l.key("ab12"); got != "semproc:json:openai-text-embedding-3-small:1536:ab12" {
		t.Errorf("key = %q", got)
	}
}

func TestCreateArgs(t *testing.T) {
	tests := []struct {
		storage Storage
		want    string
	}{
		{StorageJSON, "FT.CREATE idx:semproc:json:m:4 ON JSON PREFIX 1 semproc:json:m:4: SCHEMA " +
			"$.vector AS vector VECTOR FLAT 6 TYPE FLOAT32 DIM 4 DISTANCE_METRIC COSINE " +
			"$.model AS model TAG $.api AS api TAG $.scope AS scope TAG $.fingerprint AS fingerprint TAG " +
			"$.stored_at AS stored_at NUMERIC"},
		{StorageHash, "FT.CREATE idx:semproc:hash:m:4 ON HASH PREFIX 1 semproc:hash:m:4: SCHEMA " +
			"vector VECTOR FLAT 6 TYPE FLOAT32 DIM 4 DISTANCE_METRIC COSINE " +
			"model TAG api TAG scope TAG fingerprint TAG stored_at NUMERIC"},
	}
	for _, tt := range tests {
		if got := join(newLayout(tt.storage, "m", 4).createArgs()); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.storage, got, tt.want)
		}
	}
}

// join renders command arguments the way a test reads them.
func join(args []any) string {
	s := make([]string, len(args))
	for i, a := range args {
		if b, ok := a.([]byte); ok {
			s[i] = fmt.Sprintf("blob[%d]", len(b))
		} else {
			s[i] = fmt.Sprint(a)
		}
		if strings.Contains(s[i], " ") {
			s[i] = strconv.Quote(s[i])
		}
	}
	return strings.Join(s, " ")
}

// info builds an FT.INFO reply (RESP2) with the given vector attribute
// description and key type.
func info(keyType string, vector []any, others ...string) []any {
	attrs := []any{append([]any{"identifier", "$.vector", "attribute", "vector"}, vector...)}
	for _, o := range others {
		attrs = append(attrs, []any{"identifier", "$." + o, "attribute", o, "type", "TAG", "SEPARATOR", ","})
	}
	return []any{
		"index_name", "idx",
		"index_options", []any{},
		"index_definition", []any{"key_type", keyType, "prefixes", []any{"p:"}, "default_score", "1"},
		"attributes", attrs,
		"num_docs", "0",
	}
}

func TestIndexMismatch(t *testing.T) {
	all := []string{"model", "api", "scope", "fingerprint", "stored_at"}
	redis28 := func(dim any, metric, typ string) []any {
		return []any{"type", "VECTOR", "algorithm", "FLAT", "data_type", typ, "dim", dim, "distance_metric", metric}
	}
	valkey := func(dim int64) []any {
		return []any{"type", "VECTOR", "index", []any{
			"capacity", int64(10240), "dimensions", dim, "distance_metric", "COSINE",
			"size", int64(0), "data_type", "FLOAT32", "algorithm", []any{"name", "FLAT", "block_size", int64(1024)},
		}}
	}
	tests := []struct {
		name    string
		storage Storage
		reply   any
		want    string
	}{
		{"fits (RediSearch 2.8+)", StorageJSON, info("JSON", redis28(int64(4), "COSINE", "FLOAT32"), all...), ""},
		{"fits, numbers as strings", StorageJSON, info("JSON", redis28("4", "cosine", "float32"), all...), ""},
		{"before 2.8: no vector facts", StorageJSON, info("JSON", []any{"type", "VECTOR"}, all...), ""},
		{"fits (valkey-search nesting)", StorageHash, info("HASH", valkey(4), all...), ""},
		{"other dimension", StorageJSON, info("JSON", redis28(int64(3), "COSINE", "FLOAT32"), all...), "dimension 3, want 4"},
		{"other dimension (valkey)", StorageHash, info("HASH", valkey(8), all...), "dimension 8, want 4"},
		{"other metric", StorageJSON, info("JSON", redis28(int64(4), "L2", "FLOAT32"), all...), "distance metric L2, want COSINE"},
		{"other type", StorageJSON, info("JSON", redis28(int64(4), "COSINE", "FLOAT64"), all...), "vector type FLOAT64, want FLOAT32"},
		{"other key type", StorageHash, info("JSON", redis28(int64(4), "COSINE", "FLOAT32"), all...), "key type JSON, want HASH"},
		{"older schema without stored_at", StorageJSON, info("JSON", redis28(int64(4), "COSINE", "FLOAT32"), all[:4]...), "no attribute stored_at"},
		{"not a vector", StorageJSON, info("JSON", []any{"type", "TAG"}, all...), "attribute vector is TAG, want VECTOR"},
		{"unreadable reply", StorageJSON, "OK", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newLayout(tt.storage, "m", 4).indexMismatch(tt.reply); got != tt.want {
				t.Errorf("indexMismatch = %q, want %q", got, tt.want)
			}
		})
	}
}
