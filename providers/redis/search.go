package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/semproc/semproc/semantic"
)

// minDistance is what a semantic hit reports when its float32 distance
// would print as 0 (SPEC §3: only the exact layer says 0).
const minDistance = 0.0001

// Search finds the nearest entries of the partition within q.MaxDistance,
// nearest first, at most q.Limit(). An
// index that vanished (FLUSHALL) or was made for another dimension is
// re-created and the search retried once.
func (s *Store) Search(ctx context.Context, q semantic.Query) ([]semantic.Match, error) {
	if err := checkPartition(q.Partition); err != nil {
		return nil, err
	}
	if len(q.Vector) != s.l.dim {
		return nil, fmt.Errorf("redis search: vector of %d, index of %d: %w", len(q.Vector), s.l.dim, semantic.ErrDimension)
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("redis search: %w", err)
	}
	defer cancel()
	args := s.searchArgs(q)
	sent := time.Now()
	reply, err := s.client.Do(ctx, args...).Result()
	if missing, blob := isMissingIndex(err), isBlobMismatch(err); missing || blob {
		s.log.Warn("redis search failed on the index, re-creating it", "index", s.l.index, "error", err)
		var staleBefore time.Time
		if blob {
			staleBefore = sent
		}
		if rerr := s.ensureIndex(ctx, staleBefore); rerr != nil {
			err = errors.Join(err, rerr)
		} else {
			reply, err = s.client.Do(ctx, args...).Result()
		}
	}
	s.observe(err)
	if err != nil {
		return nil, fmt.Errorf("redis search %s: %w", s.l.index, err)
	}
	hits, err := parseSearch(reply)
	if err != nil {
		return nil, fmt.Errorf("redis search %s: %w", s.l.index, err)
	}
	var out []semantic.Match
	for _, h := range hits {
		d, err := strconv.ParseFloat(h.fields[fieldDistance], 64)
		if err != nil || d > q.MaxDistance {
			// No distance: a key expiring under the search. Too far: only
			// in knn mode, where the threshold is applied here.
			continue
		}
		m := s.match(h.key, h.fields, max(d, minDistance))
		if m == nil {
			continue
		}
		m.Partition = q.Partition
		out = append(out, *m)
	}
	return out, nil
}

// searchArgs is the FT.SEARCH command: the partition as TAG filters, the
// age limit as a NUMERIC one, the vector clause of the query mode, the
// q.Limit() nearest results with only the fields a Match needs (a JSON index would
// otherwise return whole documents, vectors included).
func (s *Store) searchArgs(q semantic.Query) []any {
	p := q.Partition
	filter := fmt.Sprintf("@%s:{%s} @%s:{%s} @%s:{%s} @%s:{%s}",
		fieldModel, p.Model, fieldAPI, p.API, fieldScope, p.Scope, fieldFingerprint, p.Fingerprint)
	if !q.NotBefore.IsZero() {
		filter += fmt.Sprintf(" @%s:[%d +inf]", fieldStoredAt, q.NotBefore.UnixMilli())
	}
	vec := vectorBlob(q.Vector)
	var args []any
	if s.opts.Query == QueryKNN {
		// KNN needs no SORTBY, which several KNN-only engines lack.
		query := fmt.Sprintf("(%s)=>[KNN %d @%s $vec AS %s]", filter, q.Limit(), fieldVector, fieldDistance)
		args = []any{"FT.SEARCH", s.l.index, query}
	} else {
		query := fmt.Sprintf("%s (@%s:[VECTOR_RANGE $r $vec]=>{$YIELD_DISTANCE_AS: %s})", filter, fieldVector, fieldDistance)
		args = []any{"FT.SEARCH", s.l.index, query}
	}
	ret := []any{fieldDistance, fieldStoredAt}
	for _, f := range []string{fieldWindow, fieldCompletion, fieldTokens, fieldInputTokens, fieldExpiresAt} {
		if s.l.storage == StorageJSON {
			ret = append(ret, s.l.path(f), "AS", f)
		} else {
			ret = append(ret, f)
		}
	}
	args = append(args, "RETURN", len(ret))
	args = append(args, ret...)
	if s.opts.Query == QueryRange {
		// VECTOR_RANGE yields results in document order.
		args = append(args, "SORTBY", fieldDistance, "ASC")
	}
	args = append(args, "LIMIT", 0, q.Limit())
	if s.opts.Query == QueryKNN {
		args = append(args, "PARAMS", 2, "vec", vec)
	} else {
		args = append(args, "PARAMS", 4, "r", strconv.FormatFloat(q.MaxDistance, 'f', -1, 64), "vec", vec)
	}
	return append(args, "DIALECT", 2)
}

// hit is one FT.SEARCH result.
type hit struct {
	key    string
	fields record
}

// parseSearch reads an FT.SEARCH reply: RESP2's total followed by each key
// and its flat field/value list, or RESP3's map of results. A document
// without a usable key is skipped; one whose field list is nil, empty or
// missing (its key expired under the search) is kept with no fields and
// skipped later. Only a reply that is no search reply at all is an error.
func parseSearch(reply any) ([]hit, error) {
	if m, ok := reply.(map[any]any); ok {
		return parseSearch3(m)
	}
	arr, ok := reply.([]any)
	if !ok || len(arr) == 0 {
		return nil, fmt.Errorf("FT.SEARCH reply %T: want an array", reply)
	}
	if _, ok := arr[0].(int64); !ok {
		return nil, fmt.Errorf("FT.SEARCH reply starts with %T: want the total", arr[0])
	}
	var hits []hit
	for i := 1; i < len(arr); i++ {
		key, isKey := arr[i].(string)
		var list []any
		if i+1 < len(arr) {
			// The next item is this document's field list unless it is
			// the next key: a list, or nil for a key that expired.
			if l, isList := arr[i+1].([]any); isList || arr[i+1] == nil {
				list = l
				i++
			}
		}
		if !isKey {
			continue
		}
		h := hit{key: key, fields: record{}}
		for j := 0; j+1 < len(list); j += 2 {
			h.fields[strings.ToLower(text(list[j]))] = text(list[j+1])
		}
		hits = append(hits, h)
	}
	return hits, nil
}

// parseSearch3 reads RESP3's {results: [{id, extra_attributes: {f: v}}]}.
func parseSearch3(reply map[any]any) ([]hit, error) {
	results, ok := reply["results"].([]any)
	if !ok {
		return nil, fmt.Errorf("FT.SEARCH reply map without results (%d keys)", len(reply))
	}
	var hits []hit
	for _, r := range results {
		doc, _ := r.(map[any]any)
		key, ok := doc["id"].(string)
		if !ok {
			continue
		}
		h := hit{key: key, fields: record{}}
		attrs, _ := doc["extra_attributes"].(map[any]any)
		for f, v := range attrs {
			h.fields[strings.ToLower(text(f))] = text(v)
		}
		hits = append(hits, h)
	}
	return hits, nil
}
