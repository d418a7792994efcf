// Package semantic is semproc's domain: the cache policy, the router, cache
// partitions and the vector store contract, with the in-process store. It is
// pure Go: it knows nothing of gRPC, Envoy, Redis or any provider's JSON.
package semantic

import (
	"context"
	"errors"
	"time"
)

// Embedder turns text into a vector. Implementations are safe for
// concurrent use and return vectors of one fixed dimension.
type Embedder interface {
	Embed(ctx context.Context, text string) ([]float32, error)
}

// InputLimiter is implemented by embedders that read only a prefix of long
// input (the local model reads 128 tokens). A window that does not fit is
// served by the exact layer only: two long prompts that share their first
// tokens must never match semantically.
type InputLimiter interface {
	Fits(text string) bool
}

// Message is one turn of a conversation as a Format sees it.
type Message struct {
	Role string
	// Text is the message's text content; the text parts of a content array
	// are joined with a newline.
	Text string
	// NonText is set when the message carries images, audio, files or any
	// other part that is not text.
	NonText bool
}

// Request is what a Format extracts from a request body: everything the
// cache and the router need, and nothing of the wire format.
type Request struct {
	// API names the wire format ("openai", "anthropic"); it is part of the
	// cache partition.
	API   string
	Model string
	// Window is the text embedded for the cache (see Window).
	Window string
	// Bypass, when not empty, says why the request cannot be cached (for
	// example non-text content in the window). Routing still applies.
	Bypass string
	// Fingerprint is a hex hash of everything in the body that changes the
	// answer, except the window and the model.
	Fingerprint string
	// RouteText is the last user message's text, compared with the routing
	// targets' descriptions.
	RouteText string
	Stream    bool
	// IncludeUsage asks a replayed stream for a usage chunk (OpenAI
	// stream_options.include_usage).
	IncludeUsage bool
}

// Partition is the set of values an entry must share with a request to be
// served to it. Every field is a hex hash, so stores can index them as tags
// with no escaping.
type Partition struct {
	Model       string
	API         string
	Scope       string
	Fingerprint string
}

// Entry is one stored completion.
type Entry struct {
	// ID is the hex sha256 of the partition and the window: the exact layer
	// finds an entry by it without a vector search.
	ID        string
	Partition Partition
	Window    string
	// Vector is nil for windows the embedder cannot read whole: such entries
	// are found by the exact layer only.
	Vector []float32
	// Completion is the Format's stored record, opaque to the cache.
	Completion []byte
	// Tokens and InputTokens are the completion's output and prompt token
	// counts as its upstream reported them, for metrics: what a hit saves.
	Tokens      int
	InputTokens int
	StoredAt    time.Time
	TTL         time.Duration
}

// Usage is what the upstream reports a completion cost, in tokens.
type Usage struct {
	InputTokens, OutputTokens int
}

// Match is an entry found by a lookup.
type Match struct {
	Entry
	// Key is the entry's full store key, shown in X-Cache-Key.
	Key string
	// Distance is the cosine distance to the query vector; 0 for the exact
	// layer.
	Distance  float64
	ExpiresAt time.Time
}

// Query is a vector search restricted to one partition.
type Query struct {
	Partition   Partition
	Vector      []float32
	MaxDistance float64
	// NotBefore, when not zero, excludes entries stored before it
	// (Cache-Control: max-age on the request).
	NotBefore time.Time
	// K is how many candidates to return at most (1 when not positive): the
	// cache verifies the nearest few, so a rejected or expired nearest one
	// does not hide a good second.
	K int
}

// Limit is q.K, or 1 when q.K is not positive.
func (q Query) Limit() int { return max(q.K, 1) }

// VectorStore keeps entries and finds them. Get returns (nil, nil) and
// Search an empty slice when nothing matches; an error always means the
// store failed, never a miss. Search returns at most q.Limit() matches
// within q.MaxDistance, nearest first.
type VectorStore interface {
	Get(ctx context.Context, p Partition, id string) (*Match, error)
	Search(ctx context.Context, q Query) ([]Match, error)
	Put(ctx context.Context, e Entry) error
}

// ErrDimension is returned when a vector has the wrong number of components.
var ErrDimension = errors.New("vector dimension mismatch")
