package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

// The tokenizer reproduces @energetic-ai/embeddings 0.2.0 (itself the
// tokenizer of TensorFlow.js's universal-sentence-encoder), quirks
// included, because the model was run with it: token ids must match the
// reference exactly, not merely be a good segmentation.

// reservedPieces are the first vocabulary entries (unknown, <s>, </s>,
// extra ids), which the lattice never produces.
const reservedPieces = 6

// wordSeparator replaces spaces and starts every input, as in SentencePiece.
const wordSeparator = "\u2581"

type trieNode struct {
	children map[rune]*trieNode
	end      bool
	// length is the piece's length in code points; score and id are those
	// of the last vocabulary entry spelled this way.
	length int
	score  float64
	id     int
}

type tokenizer struct {
	root *trieNode
	// unitLen is each piece's length in UTF-16 code units: the reference
	// walks back from the end of the lattice by it.
	unitLen []int
}

func loadTokenizer(dir string) (*tokenizer, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return nil, err
	}
	// Each entry is [piece, score]; a few scores are null, which the
	// reference adds as 0.
	var vocab [][2]*json.RawMessage
	if err := json.Unmarshal(raw, &vocab); err != nil {
		return nil, fmt.Errorf("vocab.json: %w", err)
	}
	if len(vocab) <= reservedPieces {
		return nil, fmt.Errorf("vocab.json: %d entries", len(vocab))
	}
	t := &tokenizer{root: &trieNode{children: map[rune]*trieNode{}}, unitLen: make([]int, len(vocab))}
	for id, e := range vocab {
		var piece string
		var score float64
		if e[0] == nil || json.Unmarshal(*e[0], &piece) != nil {
			return nil, fmt.Errorf("vocab.json: entry %d has no piece", id)
		}
		if e[1] != nil {
			if err := json.Unmarshal(*e[1], &score); err != nil {
				return nil, fmt.Errorf("vocab.json: entry %d: %w", id, err)
			}
		}
		t.unitLen[id] = len(utf16.Encode([]rune(piece)))
		if id >= reservedPieces && piece != "" {
			t.insert(piece, score, id)
		}
	}
	return t, nil
}

func (t *tokenizer) insert(piece string, score float64, id int) {
	n := t.root
	length := 0
	for _, r := range piece {
		c, ok := n.children[r]
		if !ok {
			c = &trieNode{children: map[rune]*trieNode{}}
			n.children[r] = c
		}
		n = c
		length++
	}
	n.end, n.length, n.score, n.id = true, length, score, id
}

type arc struct {
	start int
	piece *trieNode
}

// encode returns the token ids of text (empty for empty text).
func (t *tokenizer) encode(text string) []int {
	text = norm.NFKC.String(text)
	if text == "" {
		return nil
	}
	symbols := []rune(wordSeparator + strings.ReplaceAll(text, " ", wordSeparator))
	n := len(symbols)
	// unknown stands for a single symbol no piece starts with: id 0,
	// score 0.
	unknown := &trieNode{length: 1}
	// arcs[end] lists the pieces ending at end, by ascending start.
	arcs := make([][]arc, n+1)
	for i := range n {
		found := false
		for node, k := t.root.children[symbols[i]], i; node != nil; {
			if node.end {
				arcs[i+node.length] = append(arcs[i+node.length], arc{i, node})
				found = true
			}
			k++
			if k >= n {
				break
			}
			node = node.children[symbols[k]]
		}
		if !found {
			arcs[i+1] = append(arcs[i+1], arc{i, unknown})
		}
	}
	best := make([]float64, n+1)
	words := make([]int, n+1)
	for end := range arcs {
		for _, a := range arcs[end] {
			score := a.piece.score + best[a.start]
			// The reference treats a best score of exactly 0 as unset, and
			// lets later starts win ties.
			if best[end] == 0 || score >= best[end] {
				best[end], words[end] = score, a.piece.id
			}
		}
	}
	var ids []int
	for k := n; k > 0; k -= t.unitLen[words[k]] {
		ids = append(ids, words[k])
	}
	// Runs of unknown pieces collapse into one; ids is still reversed.
	merged := ids[:0]
	prevUnknown := false
	for _, id := range ids {
		if !(prevUnknown && id == 0) {
			merged = append(merged, id)
		}
		prevUnknown = id == 0
	}
	for i, j := 0, len(merged)-1; i < j; i, j = i+1, j-1 {
		merged[i], merged[j] = merged[j], merged[i]
	}
	return merged
}
