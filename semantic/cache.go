package semantic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Status is the cache's verdict on one request, sent as X-Cache-Status.
type Status string

// The statuses of SPEC §3.
const (
	StatusHit     Status = "Hit"
	StatusMiss    Status = "Miss"
	StatusRefresh Status = "Refresh"
	StatusBypass  Status = "Bypass"
	StatusFailed  Status = "Failed"
)

// CacheOptions configures a Cache.
type CacheOptions struct {
	Embedder Embedder
	Store    VectorStore
	// Threshold is the largest cosine distance (0–2) served as a hit; 0
	// turns the semantic layer off: only the exact layer answers, and
	// nothing is embedded for the cache.
	Threshold float64
	// TTL is how long an entry lives unless the response asks for less.
	TTL time.Duration
	// Dimensions, when set, is the vector size every embedding must have.
	Dimensions int
	// Verifier decides, for each candidate the vector search finds within
	// Threshold, whether its answer may be served. Nil: a Checker without
	// a lexicon.
	Verifier Verifier
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Cache is the semantic cache policy: partitions, exact layer, vector
// search and store rules. It is safe for concurrent use.
type Cache struct {
	o CacheOptions
}

// NewCache checks the options and returns a Cache.
func NewCache(o CacheOptions) (*Cache, error) {
	var errs []error
	if o.Embedder == nil {
		errs = append(errs, errors.New("cache: an embedder is required"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("cache: a store is required"))
	}
	if o.Threshold < 0 || o.Threshold > 2 {
		errs = append(errs, fmt.Errorf("cache: threshold %v is outside 0–2", o.Threshold))
	}
	if o.TTL <= 0 {
		errs = append(errs, fmt.Errorf("cache: TTL %v must be positive", o.TTL))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Verifier == nil {
		o.Verifier = &Checker{Threshold: o.Threshold}
	}
	return &Cache{o: o}, errors.Join(errs...)
}

// Lookup is one request's question to the cache.
type Lookup struct {
	Request *Request
	// Scope is the hex hash of the tenant's credentials (see Scope).
	Scope string
	// MaxAge, when HasMaxAge, only accepts entries at most that old
	// (request Cache-Control: max-age).
	MaxAge    time.Duration
	HasMaxAge bool
	// NoCache skips the lookup and refreshes the entry (Cache-Control:
	// no-cache).
	NoCache bool
}

// Result is the cache's answer. A Result whose Status is Miss or Refresh
// can be stored with Store once the response qualifies.
type Result struct {
	Status Status
	// Match is the entry served on a Hit.
	Match *Match
	// Exact is set when the hit came from the exact layer.
	Exact bool
	// Reason says why a request was bypassed or failed.
	Reason string
	// Err is the dependency error behind a Failed status.
	Err error
	// Candidates are the entries the vector search found, nearest first,
	// with the verifier's verdict on each (for explain and debug logs).
	Candidates []Candidate

	entry Entry
}

// candidates is how many of the nearest entries a semantic lookup checks:
// the nearest one may be rejected while the next one is the answer.
const candidates = 5

// Candidate is an entry a semantic lookup considered.
type Candidate struct {
	Key      string
	Window   string
	Distance float64
	Verdict  Verdict
}

// Get answers a Lookup. It never returns an error: a failure of the
// embedder or the store is a Failed result, so the request goes on
// uncached.
func (c *Cache) Get(ctx context.Context, l Lookup) Result {
	req := l.Request
	if req.Bypass != "" {
		return Result{Status: StatusBypass, Reason: req.Bypass}
	}
	p := Partition{Model: hashHex(req.Model), API: hashHex(req.API), Scope: l.Scope, Fingerprint: req.Fingerprint}
	e := Entry{ID: entryID(p, req.Window), Partition: p, Window: req.Window}
	if l.NoCache {
		return Result{Status: StatusRefresh, entry: e}
	}
	var notBefore time.Time
	if l.HasMaxAge {
		notBefore = c.o.Now().Add(-l.MaxAge)
	}
	m, err := c.o.Store.Get(ctx, p, e.ID)
	if err != nil {
		return failed(fmt.Errorf("exact lookup: %w", err))
	}
	if m != nil && !m.StoredAt.Before(notBefore) {
		return Result{Status: StatusHit, Match: m, Exact: true}
	}
	if !c.semantic(req.Window) {
		return Result{Status: StatusMiss, entry: e}
	}
	vec, err := c.embed(ctx, req.Window)
	if err != nil {
		return failed(err)
	}
	e.Vector = vec
	cands, err := c.o.Store.Search(ctx, Query{Partition: p, Vector: vec, MaxDistance: c.o.Threshold, NotBefore: notBefore, K: candidates})
	if err != nil {
		return failed(fmt.Errorf("vector search: %w", err))
	}
	var seen []Candidate
	differs := false
	for i := range cands {
		v := c.o.Verifier.Verify(Pair{Query: req.Window, Stored: cands[i].Window, Distance: cands[i].Distance, Neighbours: len(cands) - 1, NearerDiffers: differs})
		differs = differs || v.Differs
		seen = append(seen, Candidate{Key: cands[i].Key, Window: cands[i].Window, Distance: cands[i].Distance, Verdict: v})
		if v.Accept {
			return Result{Status: StatusHit, Match: &cands[i], Candidates: seen}
		}
	}
	return Result{Status: StatusMiss, entry: e, Candidates: seen}
}

// Store keeps a completion for a Miss or Refresh result. ttl, when
// positive and shorter than the configured TTL, shortens the entry's life
// (response Cache-Control: max-age). Call it off the request path.
func (c *Cache) Store(ctx context.Context, r Result, comp Completion, ttl time.Duration) error {
	if r.Status != StatusMiss && r.Status != StatusRefresh {
		return fmt.Errorf("cache: a %s result is not stored", r.Status)
	}
	e := r.entry
	if e.Vector == nil && c.semantic(e.Window) {
		vec, err := c.embed(ctx, e.Window)
		if err != nil {
			return err
		}
		e.Vector = vec
	}
	e.Completion, e.Tokens, e.InputTokens, e.StoredAt = comp.Record, comp.OutputTokens, comp.InputTokens, c.o.Now()
	e.TTL = c.o.TTL
	if ttl > 0 && ttl < e.TTL {
		e.TTL = ttl
	}
	if err := c.o.Store.Put(ctx, e); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// semantic reports whether a window is embedded for the cache: the
// semantic layer is on and the embedder reads the whole window.
func (c *Cache) semantic(text string) bool {
	if c.o.Threshold == 0 {
		return false
	}
	l, ok := c.o.Embedder.(InputLimiter)
	return !ok || l.Fits(text)
}

func (c *Cache) embed(ctx context.Context, text string) ([]float32, error) {
	vec, err := c.o.Embedder.Embed(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	if c.o.Dimensions > 0 && len(vec) != c.o.Dimensions {
		return nil, fmt.Errorf("embeddings: got %d dimensions, want %d: %w", len(vec), c.o.Dimensions, ErrDimension)
	}
	return Normalize(vec)
}

func failed(err error) Result {
	return Result{Status: StatusFailed, Reason: err.Error(), Err: err}
}

// Normalize returns a copy of v scaled to unit length, so cosine distance
// is 1 − dot product. A zero or non-finite vector is an error: it has no
// direction to compare.
func Normalize(v []float32) ([]float32, error) {
	if !hasDirection(v) {
		return nil, ErrDegenerate
	}
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	inv := 1 / math.Sqrt(sum)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out, nil
}

// FormatDistance renders a match distance for X-Cache-Distance: "0" for an
// exact hit; for a semantic hit a plain decimal with at most 4 fraction
// digits, never below 0.0001, so a semantic hit never looks exact.
func FormatDistance(d float64, exact bool) string {
	if exact {
		return "0"
	}
	d = math.Max(math.Round(d*1e4)/1e4, 0.0001)
	return strconv.FormatFloat(d, 'f', -1, 64)
}

// Scope hashes a tenant's credential values into a partition scope. Values
// are taken in the order given; a request with none of them gets the
// anonymous scope (the hash of nothing).
func Scope(values []string) string { return hashFields(values...) }

func entryID(p Partition, window string) string {
	return hashFields(p.Model, p.API, p.Scope, p.Fingerprint, window)
}

// hashFields is the hex SHA-256 of the fields, each written as
// "<length>:<field>;" so that no two lists hash alike. Entry IDs and scopes
// name stored entries (Redis keys), so the form never changes.
func hashFields(fields ...string) string {
	var buf [512]byte // most requests' fields fit: no allocation
	b := buf[:0]
	for _, f := range fields {
		b = appendField(b, f)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func appendField(b []byte, s string) []byte {
	b = append(strconv.AppendInt(b, int64(len(s)), 10), ':')
	return append(append(b, s...), ';')
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
