package semantic

import (
	"strconv"
	"strings"
)

// Namespace names a store's partition of one embeddings space:
// <storage>:<model slug>:<dim>. Vectors of two models or sizes never meet,
// and switching storage never meets an index of the other key type.
func Namespace(storage, model string, dim int) string {
	return storage + ":" + Slug(model) + ":" + strconv.Itoa(dim)
}

// Slug lower-cases a model name and turns every character outside
// [a-z0-9._-] into '-', so any name is safe in a key and an index name.
func Slug(model string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, strings.ToLower(model))
}
