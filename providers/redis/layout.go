package redisstore

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/semproc/semproc/semantic"
)

// Field names, the same in JSON documents, hashes and the index schema.
const (
	fieldVector      = "vector"
	fieldWindow      = "window"
	fieldCompletion  = "completion"
	fieldTokens      = "tokens"
	fieldInputTokens = "input_tokens"
	fieldStoredAt    = "stored_at"
	fieldExpiresAt   = "expires_at"
	fieldModel       = "model"
	fieldAPI         = "api"
	fieldScope       = "scope"
	fieldFingerprint = "fingerprint"
	// fieldDistance is the name the search yields the distance under.
	fieldDistance = "dist"
)

// tagFields are the partition, indexed as TAG fields in this order.
var tagFields = [...]string{fieldModel, fieldAPI, fieldScope, fieldFingerprint}

// layout names everything a Store keeps in Redis (SPEC §7).
type layout struct {
	storage Storage
	dim     int
	// namespace is <storage>:<model-slug>:<dim>.
	namespace string
	// index is idx:semproc:<namespace>.
	index string
	// prefix is semproc:<namespace>:, followed by the entry's ID.
	prefix string
}

func newLayout(storage Storage, model string, dim int) layout {
	ns := semantic.Namespace(string(storage), model, dim)
	return layout{
		storage:   storage,
		dim:       dim,
		namespace: ns,
		index:     "idx:semproc:" + ns,
		prefix:    "semproc:" + ns + ":",
	}
}

func (l layout) key(id string) string { return l.prefix + id }

// scopeKeys name the sorted sets of a tenant's entry IDs by stored time and
// by expiry, semproc:scope:<namespace>:<scope>:stored and …:expires: outside
// the index's prefix.
func (l layout) scopeKeys(scope string) (stored, expires string) {
	base := "semproc:scope:" + l.namespace + ":" + scope
	return base + ":stored", base + ":expires"
}

// path is how the schema and RETURN name a field: a JSONPath for JSON
// documents, the field itself for hashes.
func (l layout) path(field string) string {
	if l.storage == StorageJSON {
		return "$." + field
	}
	return field
}

// createArgs is the FT.CREATE command of SPEC §7.
func (l layout) createArgs() []any {
	on := "JSON"
	if l.storage == StorageHash {
		on = "HASH"
	}
	args := []any{"FT.CREATE", l.index, "ON", on, "PREFIX", 1, l.prefix, "SCHEMA"}
	args = append(args, l.attribute(fieldVector)...)
	args = append(args, "VECTOR", "FLAT", 6, "TYPE", "FLOAT32", "DIM", l.dim, "DISTANCE_METRIC", "COSINE")
	for _, f := range tagFields {
		args = append(args, l.attribute(f)...)
		args = append(args, "TAG")
	}
	args = append(args, l.attribute(fieldStoredAt)...)
	return append(args, "NUMERIC")
}

// attribute names a schema field: "$.f AS f" on JSON, "f" on hashes.
func (l layout) attribute(field string) []any {
	if l.storage == StorageJSON {
		return []any{l.path(field), "AS", field}
	}
	return []any{field}
}

// indexMismatch reads an FT.INFO reply (RESP2) and says why the index does
// not fit this layout, or "" when it fits or the reply does not tell: FT.INFO
// shows a vector's dimension and metric only from RediSearch 2.8, and
// valkey-search nests them differently, so absent facts are not mismatches.
func (l layout) indexMismatch(info any) string {
	top := pairs(info)
	if def := pairs(top["index_definition"]); def != nil {
		want := "JSON"
		if l.storage == StorageHash {
			want = "HASH"
		}
		if kt := text(def["key_type"]); kt != "" && !strings.EqualFold(kt, want) {
			return fmt.Sprintf("key type %s, want %s", kt, want)
		}
	}
	found := attributes(top)
	if found == nil {
		return ""
	}
	for _, f := range append(tagFields[:], fieldVector, fieldStoredAt) {
		if found[f] == nil {
			return "no attribute " + f
		}
	}
	vec := found[fieldVector]
	if t := text(vec["type"]); t != "" && !strings.EqualFold(t, "VECTOR") {
		return fmt.Sprintf("attribute vector is %s, want VECTOR", t)
	}
	if dt := text(vec["data_type"]); dt != "" && !strings.EqualFold(dt, "FLOAT32") {
		return fmt.Sprintf("vector type %s, want FLOAT32", dt)
	}
	if m := text(vec["distance_metric"]); m != "" && !strings.EqualFold(m, "COSINE") {
		return fmt.Sprintf("distance metric %s, want COSINE", m)
	}
	if d := dimension(vec); d != "" && d != strconv.Itoa(l.dim) {
		return fmt.Sprintf("dimension %s, want %d", d, l.dim)
	}
	return ""
}

// showsDimension is false for an FT.INFO reply that does not show the
// vector's dimension (RediSearch before 2.8).
func showsDimension(info any) bool {
	return dimension(attributes(pairs(info))[fieldVector]) != ""
}

// dimension is the dimension among an attribute's facts; "" when absent.
func dimension(facts map[string]any) string {
	for _, k := range []string{"dim", "dimensions"} {
		if d := text(facts[k]); d != "" {
			return d
		}
	}
	return ""
}

// attributes reads the attribute descriptions of an FT.INFO reply, by
// attribute name; nil when the reply has none.
func attributes(top map[string]any) map[string]map[string]any {
	attrs, ok := top["attributes"].([]any)
	if !ok {
		return nil
	}
	found := map[string]map[string]any{}
	for _, a := range attrs {
		facts := map[string]any{}
		collect(a, facts)
		if name := text(facts["attribute"]); name != "" {
			found[name] = facts
		}
	}
	return found
}

// pairs reads a RESP2 flat key/value array as a map (nil when v is not one).
func pairs(v any) map[string]any {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	m := make(map[string]any, len(arr)/2)
	for i := 0; i+1 < len(arr); i += 2 {
		if k, ok := arr[i].(string); ok {
			m[strings.ToLower(k)] = arr[i+1]
		}
	}
	return m
}

// collect gathers the scalar pairs of a key/value reply and of the
// key/value lists nested in it into facts (lower-case keys, first one wins):
// attribute descriptions are flat in RediSearch and nested in valkey-search.
func collect(v any, facts map[string]any) {
	arr, ok := v.([]any)
	if !ok {
		return
	}
	for i := 0; i+1 < len(arr); i += 2 {
		k, ok := arr[i].(string)
		if !ok {
			continue
		}
		if sub, isList := arr[i+1].([]any); isList {
			collect(sub, facts)
			continue
		}
		if _, seen := facts[strings.ToLower(k)]; !seen {
			facts[strings.ToLower(k)] = arr[i+1]
		}
	}
}

// text renders a scalar reply value; "" for anything else.
func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	default:
		return ""
	}
}
