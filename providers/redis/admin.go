package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/semproc/semproc/semantic"
)

// adminBatch is how many entries one round of a bulk delete or of Stats
// handles: each round is one call bounded by Options.Timeout.
const adminBatch = 500

// Delete removes the entry whose key (X-Cache-Key) is key, and its place in
// its tenant's sorted sets, and says whether it existed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	id, ok := strings.CutPrefix(key, s.l.prefix)
	if !ok || !isHex(id) {
		return false, nil
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return false, fmt.Errorf("redis delete: %w", err)
	}
	defer cancel()
	scope := s.client.Do(ctx, s.fieldArgs(key, fieldScope)...)
	if err := scope.Err(); err != nil && !errors.Is(err, redis.Nil) {
		s.observe(err)
		return false, fmt.Errorf("redis delete %s: %w", key, err)
	}
	n, err := s.deleteKeys(ctx, map[string]string{id: s.fieldValue(scope)})
	if err != nil {
		return false, fmt.Errorf("redis delete %s: %w", key, err)
	}
	return n > 0, nil
}

// DeleteWhere removes every entry f selects, found by FT.SEARCH on the
// partition's TAG fields, in batches, and returns how many it removed.
func (s *Store) DeleteWhere(ctx context.Context, f semantic.Filter) (int, error) {
	query := "*"
	if f.Model != "" {
		if !isHex(f.Model) {
			return 0, fmt.Errorf("redis delete: model %q is not a hex hash", f.Model)
		}
		query = fmt.Sprintf("@%s:{%s}", fieldModel, f.Model)
	}
	ret := []any{"RETURN", 1, fieldScope}
	if s.l.storage == StorageJSON {
		ret = []any{"RETURN", 3, s.l.path(fieldScope), "AS", fieldScope}
	}
	total := 0
	// Deleted documents leave the index, so the next batch starts at 0,
	// past those a batch could not delete (keys expiring under it).
	for offset := 0; ; {
		n, found, err := s.deleteBatch(ctx, append(append([]any{"FT.SEARCH", s.l.index, query}, ret...), "LIMIT", offset, adminBatch, "DIALECT", 2))
		total += n
		if err != nil || found == 0 {
			return total, err
		}
		offset += found - n
	}
}

// deleteBatch runs one search of a bulk delete and deletes what it found.
func (s *Store) deleteBatch(ctx context.Context, search []any) (deleted, found int, err error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("redis delete: %w", err)
	}
	defer cancel()
	reply, err := s.client.Do(ctx, search...).Result()
	if isMissingIndex(err) {
		return 0, 0, nil // no index: nothing is indexed to delete
	}
	s.observe(err)
	if err != nil {
		return 0, 0, fmt.Errorf("redis delete: FT.SEARCH %s: %w", s.l.index, err)
	}
	hits, err := parseSearch(reply)
	if err != nil {
		return 0, 0, fmt.Errorf("redis delete: %w", err)
	}
	scopes := make(map[string]string, len(hits))
	for _, h := range hits {
		scopes[strings.TrimPrefix(h.key, s.l.prefix)] = h.fields[fieldScope]
	}
	n, err := s.deleteKeys(ctx, scopes)
	if err != nil {
		return n, len(hits), fmt.Errorf("redis delete: %w", err)
	}
	return n, len(hits), nil
}

// deleteKeys deletes entries by ID, with their members of their tenants'
// sorted sets (scope "" when unknown), in one transaction; it returns how
// many keys existed.
func (s *Store) deleteKeys(ctx context.Context, scopes map[string]string) (int, error) {
	if len(scopes) == 0 {
		return 0, nil
	}
	var dels []*redis.Cmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for id, scope := range scopes {
			dels = append(dels, p.Do(ctx, "DEL", s.l.key(id)))
			if isHex(scope) {
				stored, expires := s.l.scopeKeys(scope)
				p.Do(ctx, "ZREM", stored, id)
				p.Do(ctx, "ZREM", expires, id)
			}
		}
		return nil
	})
	s.observe(err)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range dels {
		k, _ := d.Int()
		n += k
	}
	return n, nil
}

// Stats counts the namespace's entries and their memory (MEMORY USAGE), by
// model, scanning the keys under the prefix in batches.
func (s *Store) Stats(ctx context.Context) (semantic.Stats, error) {
	st := semantic.Stats{Namespace: s.l.namespace, Models: []semantic.ModelStats{}}
	var cursor uint64
	for {
		next, err := s.statsBatch(ctx, cursor, &st)
		if err != nil {
			return st, fmt.Errorf("redis stats: %w", err)
		}
		if cursor = next; cursor == 0 {
			return st, nil
		}
	}
}

func (s *Store) statsBatch(ctx context.Context, cursor uint64, st *semantic.Stats) (uint64, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	keys, next, err := s.client.Scan(ctx, cursor, s.l.prefix+"*", adminBatch).Result()
	s.observe(err)
	if err != nil {
		return 0, err
	}
	type entry struct{ model, usage *redis.Cmd }
	var entries []entry
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			if isHex(strings.TrimPrefix(k, s.l.prefix)) { // not a dimension probe
				entries = append(entries, entry{p.Do(ctx, s.fieldArgs(k, fieldModel)...), p.Do(ctx, "MEMORY", "USAGE", k)})
			}
		}
		return nil
	})
	if errors.Is(err, redis.Nil) {
		err = nil // a key that expired between SCAN and its read
	}
	s.observe(err)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if model := s.fieldValue(e.model); model != "" {
			bytes, _ := e.usage.Int64()
			st.Add(model, bytes)
		}
	}
	return next, nil
}

// fieldArgs reads one field of an entry.
func (s *Store) fieldArgs(key, field string) []any {
	if s.l.storage == StorageJSON {
		return []any{"JSON.GET", key, s.l.path(field)}
	}
	return []any{"HGET", key, field}
}

// fieldValue is the string fieldArgs read; "" when the key or field is
// missing.
func (s *Store) fieldValue(cmd *redis.Cmd) string {
	v, err := cmd.Text()
	if err != nil || s.l.storage == StorageHash {
		return v
	}
	var vals []string // JSON.GET of a $ path answers an array
	if json.Unmarshal([]byte(v), &vals) != nil || len(vals) == 0 {
		return ""
	}
	return vals[0]
}
