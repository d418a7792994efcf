package redisstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/semproc/semproc/semantic"
)

// recordFields are read back by the exact layer, in this order.
var recordFields = [...]string{
	fieldWindow, fieldCompletion, fieldTokens, fieldInputTokens, fieldStoredAt, fieldExpiresAt,
	fieldModel, fieldAPI, fieldScope, fieldFingerprint,
}

// jsonDoc is an entry as a RedisJSON document. Vector is omitted, not
// empty, for exact-only entries: RediSearch skips a missing path but counts
// an empty array as an indexing failure, and a zero vector would match.
type jsonDoc struct {
	Vector      []float32 `json:"vector,omitempty"`
	Window      string    `json:"window"`
	Completion  string    `json:"completion"`
	Tokens      int       `json:"tokens"`
	InputTokens int       `json:"input_tokens"`
	StoredAt    int64     `json:"stored_at"`
	ExpiresAt   int64     `json:"expires_at"`
	Model       string    `json:"model"`
	API         string    `json:"api"`
	Scope       string    `json:"scope"`
	Fingerprint string    `json:"fingerprint"`
}

// Put stores the entry and its expiry in one MULTI/EXEC, so no reader ever
// sees an entry that would not expire; with a per-tenant bound, the same
// transaction evicts the tenant's oldest entries past it.
func (s *Store) Put(ctx context.Context, e semantic.Entry) error {
	cmds, err := s.putCommands(e)
	if err != nil || cmds == nil {
		return err
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("redis put: %w", err)
	}
	defer cancel()
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range cmds {
			p.Do(ctx, c...)
		}
		return nil
	})
	s.observe(err)
	if err != nil {
		return fmt.Errorf("redis put %s: %w", s.l.key(e.ID), err)
	}
	return nil
}

// putCommands is the transaction's body; nil when the entry has already
// expired and there is nothing to store.
func (s *Store) putCommands(e semantic.Entry) ([][]any, error) {
	now := s.now()
	if err := checkPartition(e.Partition); err != nil {
		return nil, err
	}
	if err := checkID(e.ID); err != nil {
		return nil, err
	}
	if e.TTL <= 0 {
		return nil, fmt.Errorf("redis put: TTL %s: want a positive duration", e.TTL)
	}
	if e.Vector != nil && len(e.Vector) != s.l.dim {
		return nil, fmt.Errorf("redis put: vector of %d, index of %d: %w", len(e.Vector), s.l.dim, semantic.ErrDimension)
	}
	storedAt := e.StoredAt
	if storedAt.IsZero() {
		storedAt = now
	}
	expiresAt := storedAt.Add(e.TTL)
	// PEXPIRE counts from now on the server's clock, so a skewed clock
	// shifts nothing; the document keeps the absolute time for searches.
	left := expiresAt.Sub(now).Milliseconds()
	if left <= 0 {
		return nil, nil
	}
	key := s.l.key(e.ID)
	expire := []any{"PEXPIRE", key, left}
	if s.l.storage == StorageHash {
		set := []any{"HSET", key}
		if e.Vector != nil {
			set = append(set, fieldVector, vectorBlob(e.Vector))
		}
		set = append(set,
			fieldWindow, e.Window,
			fieldCompletion, e.Completion,
			fieldTokens, e.Tokens,
			fieldInputTokens, e.InputTokens,
			fieldStoredAt, storedAt.UnixMilli(),
			fieldExpiresAt, expiresAt.UnixMilli(),
			fieldModel, e.Partition.Model,
			fieldAPI, e.Partition.API,
			fieldScope, e.Partition.Scope,
			fieldFingerprint, e.Partition.Fingerprint)
		// DEL first: HSET alone would keep a field the new entry lacks.
		return s.withBound([][]any{{"DEL", key}, set, expire}, e, storedAt, expiresAt, now), nil
	}
	if !utf8.Valid(e.Completion) || !utf8.ValidString(e.Window) {
		return nil, errors.New("redis put: json storage keeps text only; the completion or window is not UTF-8")
	}
	doc, err := json.Marshal(jsonDoc{
		Vector:      e.Vector,
		Window:      e.Window,
		Completion:  string(e.Completion),
		Tokens:      e.Tokens,
		InputTokens: e.InputTokens,
		StoredAt:    storedAt.UnixMilli(),
		ExpiresAt:   expiresAt.UnixMilli(),
		Model:       e.Partition.Model,
		API:         e.Partition.API,
		Scope:       e.Partition.Scope,
		Fingerprint: e.Partition.Fingerprint,
	})
	if err != nil {
		return nil, fmt.Errorf("redis put: encode document: %w", err)
	}
	return s.withBound([][]any{{"JSON.SET", key, "$", string(doc)}, expire}, e, storedAt, expiresAt, now), nil
}

// withBound appends the command that keeps the entry's tenant within its
// bound, when there is one.
func (s *Store) withBound(cmds [][]any, e semantic.Entry, storedAt, expiresAt, now time.Time) [][]any {
	if s.opts.MaxEntriesPerScope == 0 {
		return cmds
	}
	return append(cmds, s.boundCommand(e.ID, e.Partition.Scope, storedAt, expiresAt, now))
}

// Get is the exact layer: one key lookup and its PTTL, no vector search.
func (s *Store) Get(ctx context.Context, p semantic.Partition, id string) (*semantic.Match, error) {
	if err := checkPartition(p); err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("redis get: %w", err)
	}
	defer cancel()
	key := s.l.key(id)
	pipe := s.client.Pipeline()
	get := pipe.Do(ctx, s.getArgs(key)...)
	pttl := pipe.Do(ctx, "PTTL", key)
	_, err = pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		err = nil // JSON.GET of a missing key; PTTL says so too
	}
	s.observe(err)
	if err != nil {
		return nil, fmt.Errorf("redis get %s: %w", key, err)
	}
	rec, err := s.parseGet(get)
	if err != nil {
		return nil, fmt.Errorf("redis get %s: %w", key, err)
	}
	left, err := pttl.Int64()
	if err != nil {
		return nil, fmt.Errorf("redis get %s: PTTL: %w", key, err)
	}
	m := s.match(key, rec, 0)
	if m == nil || left == -2 || m.Partition != p {
		// Gone, half expired, or (against all odds) another partition's.
		return nil, nil
	}
	if left >= 0 {
		m.ExpiresAt = s.now().Add(time.Duration(left) * time.Millisecond)
	}
	return m, nil
}

func (s *Store) getArgs(key string) []any {
	args := []any{"HMGET", key}
	if s.l.storage == StorageJSON {
		args = []any{"JSON.GET", key}
	}
	for _, f := range recordFields {
		args = append(args, s.l.path(f))
	}
	return args
}

// parseGet reads JSON.GET's object of JSONPath → [value] or HMGET's list;
// nil when the key does not exist.
func (s *Store) parseGet(cmd *redis.Cmd) (record, error) {
	if errors.Is(cmd.Err(), redis.Nil) {
		return nil, nil
	}
	if s.l.storage == StorageHash {
		vals, err := cmd.Slice()
		if err != nil {
			return nil, err
		}
		rec := record{}
		for i, f := range recordFields {
			if i < len(vals) && vals[i] != nil {
				rec[f] = text(vals[i])
			}
		}
		return rec, nil
	}
	reply, err := cmd.Text()
	if err != nil {
		return nil, err
	}
	return parseJSONPaths(reply)
}

// parseJSONPaths reads {"$.f":[value], …}: strings unquoted, numbers as
// written.
func parseJSONPaths(reply string) (record, error) {
	var paths map[string][]json.RawMessage
	if err := json.Unmarshal([]byte(reply), &paths); err != nil {
		return nil, fmt.Errorf("JSON.GET reply: %w", err)
	}
	rec := record{}
	for path, vals := range paths {
		if len(vals) == 0 {
			continue
		}
		var str string
		if json.Unmarshal(vals[0], &str) == nil {
			rec[strings.TrimPrefix(path, "$.")] = str
		} else {
			rec[strings.TrimPrefix(path, "$.")] = string(vals[0])
		}
	}
	return rec, nil
}

// record is an entry's fields as the server returned them.
type record map[string]string

// match builds a Match from a record; nil when fields lack, as they do
// while a key expires under a search.
func (s *Store) match(key string, rec record, distance float64) *semantic.Match {
	completion, ok := rec[fieldCompletion]
	storedAt, okS := unixMilli(rec[fieldStoredAt])
	expiresAt, okE := unixMilli(rec[fieldExpiresAt])
	if !ok || !okS || !okE {
		return nil
	}
	// Entries written before input tokens were kept have none: 0.
	tokens, _ := strconv.ParseFloat(rec[fieldTokens], 64)
	input, _ := strconv.ParseFloat(rec[fieldInputTokens], 64)
	return &semantic.Match{
		Entry: semantic.Entry{
			ID: strings.TrimPrefix(key, s.l.prefix),
			Partition: semantic.Partition{
				Model: rec[fieldModel], API: rec[fieldAPI],
				Scope: rec[fieldScope], Fingerprint: rec[fieldFingerprint],
			},
			Window:      rec[fieldWindow],
			Completion:  []byte(completion),
			Tokens:      int(tokens),
			InputTokens: int(input),
			StoredAt:    storedAt,
			TTL:         expiresAt.Sub(storedAt),
		},
		Key:       key,
		Distance:  distance,
		ExpiresAt: expiresAt,
	}
}

// unixMilli parses milliseconds written as an integer or, by RediSearch, as
// a double.
func unixMilli(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(f)), true
}

// vectorBlob is the FLOAT32 little-endian form of a vector, as hashes store
// it and as queries pass it.
func vectorBlob(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// checkPartition refuses values that are not the hex hashes the contract
// promises: they go unescaped into TAG queries.
func checkPartition(p semantic.Partition) error {
	for name, v := range map[string]string{
		fieldModel: p.Model, fieldAPI: p.API, fieldScope: p.Scope, fieldFingerprint: p.Fingerprint,
	} {
		if !isHex(v) {
			return fmt.Errorf("redis store: partition %s %q is not a hex hash", name, v)
		}
	}
	return nil
}

func checkID(id string) error {
	if !isHex(id) {
		return fmt.Errorf("redis store: entry ID %q is not a hex hash", id)
	}
	return nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
