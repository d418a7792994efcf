// Package redisstore is semproc's Redis vector store (SPEC §7): entries as
// RedisJSON documents or hashes under one FLAT COSINE index per namespace,
// found by key (exact layer) or by VECTOR_RANGE / KNN (semantic layer).
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/semproc/semproc/semantic"
)

// Errors every call wraps while the store cannot serve, so the cache reports
// Failed; Ready returns them too.
var (
	// ErrNotReady: the start-up check has not succeeded yet (Redis
	// unreachable, authentication refused, index not created).
	ErrNotReady = errors.New("redis store not ready")
	// ErrModulesMissing: the server lacks the search module, or the JSON
	// one for json storage. It always comes wrapped with ErrNotReady.
	ErrModulesMissing = errors.New("redis lacks required modules")
)

// Retry delays of the start-up check: quick at first so that a Redis
// started next to semproc is picked up at once, then sparse.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 15 * time.Second
	// setupTimeout bounds one start-up check (MODULE LIST, FT.INFO,
	// FT.CREATE); it runs off the request path.
	setupTimeout = 5 * time.Second
)

// Store is a semantic.VectorStore on Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	opts   Options
	l      layout
	log    *slog.Logger
	// now is the clock entries are timed with (a test sets it).
	now func() time.Time

	// mu guards state: the last start-up check's error until one succeeds,
	// then the last call's connection error (nil after a success).
	mu    sync.Mutex
	state error

	// indexMu serialises index re-creations and guards createdAt, when
	// this store last created the index.
	indexMu   sync.Mutex
	createdAt time.Time

	stop context.CancelFunc
	done chan struct{}
}

var _ semantic.VectorStore = (*Store)(nil)

// New returns a store and starts checking the server in the background
// until the check succeeds, ctx ends or Close is called. It fails only on
// invalid options: a Redis that is down or lacks its modules makes every
// call fail (see Ready) until the check succeeds.
func New(ctx context.Context, opts Options) (*Store, error) {
	s, err := newStore(opts)
	if err != nil {
		return nil, err
	}
	s.start(ctx)
	return s, nil
}

// newStore builds a store without starting its check, so that tests can
// drive the client directly. It reports every option problem at once.
func newStore(opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	var co *redis.UniversalOptions
	if opts.URL != "" {
		var cerr error
		co, cerr = opts.clientOptions()
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("redis store options: %w", err)
	}
	return &Store{
		client: redis.NewUniversalClient(co),
		opts:   opts,
		l:      newLayout(opts.Storage, opts.Model, opts.Dimension),
		log:    opts.Logger,
		now:    time.Now,
		state:  fmt.Errorf("%w: start-up check has not run", ErrNotReady),
		done:   make(chan struct{}),
	}, nil
}

// start runs the start-up check until it succeeds, ctx ends or the store is
// closed.
func (s *Store) start(ctx context.Context) {
	ctx, s.stop = context.WithCancel(ctx)
	go s.watch(ctx)
}

func (s *Store) watch(ctx context.Context) {
	defer close(s.done)
	delay := minBackoff
	var last string
	for {
		cctx, cancel := context.WithTimeout(ctx, setupTimeout)
		err := s.setup(cctx)
		cancel()
		s.setState(err)
		if err == nil {
			s.log.Info("redis store ready", "index", s.l.index)
			return
		}
		if msg := err.Error(); msg != last {
			// Logged when it changes, not on every retry.
			s.log.Warn("redis store not ready, retrying", "error", msg)
			last = msg
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxBackoff)
	}
}

// setup checks the modules and makes sure the index exists and fits.
func (s *Store) setup(ctx context.Context) error {
	if err := s.checkModules(ctx); err != nil {
		return err
	}
	if err := s.ensureIndex(ctx, time.Time{}); err != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return nil
}

func (s *Store) checkModules(ctx context.Context) error {
	reply, err := s.client.Do(ctx, "MODULE", "LIST").Slice()
	if err != nil {
		if isReplyError(err) && !isAuthError(err) {
			// Managed services often forbid MODULE; FT.INFO tells instead.
			s.log.Warn("MODULE LIST refused, checking the index directly", "error", err)
			return nil
		}
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	have := map[string]bool{}
	for _, m := range reply {
		if name := text(pairs(m)["name"]); name != "" {
			have[strings.ToLower(name)] = true
		}
	}
	var missing []string
	if !have["search"] {
		missing = append(missing, "no search module")
	}
	if s.opts.Storage == StorageJSON && !have["rejson"] && !have["json"] {
		missing = append(missing, "no ReJSON module")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %w: the server has %s; use Redis Stack >= 7.2 or Redis >= 8 (Query Engine%s)",
			ErrNotReady, ErrModulesMissing, strings.Join(missing, " and "), jsonHint(s.opts.Storage))
	}
	return nil
}

func jsonHint(st Storage) string {
	if st == StorageJSON {
		return " and JSON, or SEMPROC_REDIS_STORAGE=hash without JSON"
	}
	return ""
}

// ensureIndex creates the index when missing and re-creates it when it does
// not fit the layout, or when it was last made before staleBefore (the
// server refused a query vector sent then; zero: never). Comparing times
// keeps a burst of refused queries from re-creating the index once each.
// An index this store did not make, on an engine whose FT.INFO does not show
// the dimension, is probed instead. Documents stay: FT.DROPINDEX without DD keeps them and FT.CREATE indexes
// them again.
func (s *Store) ensureIndex(ctx context.Context, staleBefore time.Time) error {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	info, err := s.client.Do(ctx, "FT.INFO", s.l.index).Result()
	switch {
	case err != nil && isMissingIndex(err):
		return s.createIndex(ctx)
	case err != nil && isUnknownCommand(err):
		return fmt.Errorf("%w: the server has no search module (%w)", ErrModulesMissing, err)
	case err != nil:
		return fmt.Errorf("FT.INFO %s: %w", s.l.index, err)
	}
	reason := s.l.indexMismatch(info)
	probed := reason == "" && s.createdAt.IsZero() && !showsDimension(info)
	if probed {
		// An index this store did not make, on an engine that does not
		// say its dimension.
		reason = s.probeDimension(ctx)
	}
	if reason == "" && (probed || !s.createdAt.Before(staleBefore)) {
		return nil
	}
	if reason == "" {
		reason = fmt.Sprintf("the server refused a query vector of dimension %d", s.l.dim)
	}
	s.log.Warn("redis index does not fit, re-creating it", "index", s.l.index, "reason", reason)
	if err := s.client.Do(ctx, "FT.DROPINDEX", s.l.index).Err(); err != nil && !isMissingIndex(err) {
		return fmt.Errorf("FT.DROPINDEX %s: %w", s.l.index, err)
	}
	return s.createIndex(ctx)
}

// probeTTL bounds how long a probe document outlives a crash between its
// write and its deletion.
const probeTTL = 10 * time.Second

// probeDimension says why the index does not take vectors of the layout's
// dimension, or "" when it does, for engines whose FT.INFO does not show
// the dimension. It writes a probe document with such a vector under the
// prefix (an ID no entry has, no partition tags, so no search finds it) and
// asks for the nearest vector: an index of another dimension refuses the
// query vector when it holds vectors, and has not indexed the probe when it
// holds none (RediSearch indexes a document as it is written). A probe that
// fails otherwise tells nothing: it is logged and the index kept, and a
// query's blob-size error still re-creates it.
func (s *Store) probeDimension(ctx context.Context) string {
	key := fmt.Sprintf("%sprobe-%x", s.l.prefix, s.now().UnixNano())
	vec := make([]float32, s.l.dim)
	vec[0] = 1
	set := []any{"HSET", key, fieldVector, vectorBlob(vec)}
	if s.l.storage == StorageJSON {
		doc, _ := json.Marshal(jsonDoc{Vector: vec}) // floats and strings only
		set = []any{"JSON.SET", key, "$", string(doc)}
	}
	if _, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, set...)
		p.Do(ctx, "PEXPIRE", key, probeTTL.Milliseconds())
		return nil
	}); err != nil {
		s.log.Warn("redis dimension probe not written; keeping the index", "key", key, "error", err)
		return ""
	}
	defer func() {
		if err := s.client.Del(ctx, key).Err(); err != nil {
			s.log.Warn("redis dimension probe not deleted; it expires by itself", "key", key, "error", err)
		}
	}()
	total, err := s.client.Do(ctx, "FT.SEARCH", s.l.index, fmt.Sprintf("*=>[KNN 1 @%s $vec AS %s]", fieldVector, fieldDistance),
		"NOCONTENT", "LIMIT", 0, 1, "PARAMS", 2, "vec", vectorBlob(vec), "DIALECT", 2).Slice()
	switch {
	case isBlobMismatch(err):
		return fmt.Sprintf("the index refuses a query vector of dimension %d", s.l.dim)
	case err != nil:
		s.log.Warn("redis dimension probe not searched; keeping the index", "index", s.l.index, "error", err)
	case len(total) > 0 && total[0] == int64(0):
		return fmt.Sprintf("the index did not take a vector of dimension %d", s.l.dim)
	}
	return ""
}

func (s *Store) createIndex(ctx context.Context) error {
	err := s.client.Do(ctx, s.l.createArgs()...).Err()
	if err != nil && !strings.Contains(strings.ToLower(err.Error()), "index already exists") {
		if isUnknownCommand(err) {
			return fmt.Errorf("%w: the server has no search module (%w)", ErrModulesMissing, err)
		}
		return fmt.Errorf("FT.CREATE %s: %w", s.l.index, err)
	}
	s.createdAt = time.Now()
	return nil
}

// Ready says whether calls can succeed, without blocking: nil, or the
// start-up check's error (wrapping ErrNotReady, and ErrModulesMissing when
// modules lack), or the last call's connection error.
func (s *Store) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *Store) setState(err error) {
	s.mu.Lock()
	s.state = err
	s.mu.Unlock()
}

// begin returns the per-call context, or the reason calls cannot be served.
func (s *Store) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	s.mu.Lock()
	err := s.state
	s.mu.Unlock()
	if errors.Is(err, ErrNotReady) {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	return ctx, cancel, nil
}

// observe records a call's outcome for Ready: reply errors say nothing of
// the connection and a caller's cancellation nothing of Redis; everything
// else (timeouts, refused connections) does.
func (s *Store) observe(err error) {
	if errors.Is(err, redis.Nil) {
		err = nil // an empty answer is an answer
	}
	if err != nil && (isReplyError(err) || errors.Is(err, context.Canceled)) {
		return
	}
	if err != nil {
		err = fmt.Errorf("last redis call failed: %w", err)
	}
	s.mu.Lock()
	if !errors.Is(s.state, ErrNotReady) {
		s.state = err
	}
	s.mu.Unlock()
}

// Close stops the start-up check and closes the connections.
func (s *Store) Close() error {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("close redis client: %w", err)
	}
	return nil
}

// isReplyError is true for an error the server answered with.
func isReplyError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, redis.Nil)
}

// isMissingIndex matches RediSearch's "Unknown index name" (its case varies
// across versions), "no such index", and valkey-search's "… not found".
func isMissingIndex(err error) bool {
	if !isReplyError(err) {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "unknown index name") || strings.Contains(msg, "no such index") ||
		(strings.Contains(msg, "index") && strings.Contains(msg, "not found"))
}

// isBlobMismatch matches "query vector blob size … does not match …": the
// index was made for another dimension (RediSearch before 2.8 does not show
// it in FT.INFO).
func isBlobMismatch(err error) bool {
	return isReplyError(err) && strings.Contains(strings.ToLower(err.Error()), "blob size")
}

// isAuthError matches a refused AUTH, which go-redis reports as the reply
// of the first command on the connection.
func isAuthError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") ||
		strings.Contains(strings.ToLower(msg), "invalid password")
}

func isUnknownCommand(err error) bool {
	return isReplyError(err) && strings.Contains(strings.ToLower(err.Error()), "unknown command")
}
