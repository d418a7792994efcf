// The sets an evaluation reads: GPTCache's {origin, similar} pairs under
// its strict protocol, and labelled {a, b, duplicate} pairs.

package semantic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// GPTCacheSet applies the stricter protocol of the GPTCache paraphrase
// benchmark to its {origin, similar} pairs (all paraphrases): the origins of
// the even-indexed pairs are stored and every similar is asked. Even queries
// are positives, odd ones negatives, since their origin was never stored.
func GPTCacheSet(origins, similars []string) (EvalSet, error) {
	if len(origins) != len(similars) {
		return EvalSet{}, fmt.Errorf("%d origins for %d similars", len(origins), len(similars))
	}
	var s EvalSet
	for i := range origins {
		want := -1
		if i%2 == 0 {
			want = len(s.Stored)
			s.Stored = append(s.Stored, origins[i])
		}
		s.Queries = append(s.Queries, EvalQuery{Text: similars[i], Want: want})
	}
	return s, nil
}

// Text is the text of an item an evaluation may serve: EvalSet.Stored[i]
// or, past them (with EvalOptions.Replay), the query Queries[i-len(Stored)].
func (s EvalSet) Text(i int) string {
	if i < len(s.Stored) {
		return s.Stored[i]
	}
	return s.Queries[i-len(s.Stored)].Text
}

// Answer is the answer the item of index i stands for (-1: none served):
// a stored text its own index, as EvalQuery.Want names it (so a query
// served one of two identical stored texts is right only for the one it
// wants); a stored query what it wanted, or, for a negative, an answer of
// its own, i, that no query wants.
func (s EvalSet) Answer(i int) int {
	if i < len(s.Stored) {
		return i
	}
	if want := s.Queries[i-len(s.Stored)].Want; want >= 0 {
		return want
	}
	return i
}

// check rejects a set an evaluation cannot read.
func (s EvalSet) check() error {
	if len(s.Stored) == 0 {
		return errors.New("evaluate: nothing to store")
	}
	for qi, q := range s.Queries {
		if q.Want < -1 || q.Want >= len(s.Stored) {
			return fmt.Errorf("evaluate: query %d wants stored text %d of %d", qi, q.Want, len(s.Stored))
		}
	}
	return nil
}

// exactLayer maps each stored text to its first index, as the exact layer
// finds it.
func (s EvalSet) exactLayer() map[string]int {
	exact := make(map[string]int, len(s.Stored))
	for i, text := range s.Stored {
		if _, seen := exact[text]; !seen {
			exact[text] = i
		}
	}
	return exact
}

// LabelledPair is two texts and whether they ask the same thing.
type LabelledPair struct {
	A         string `json:"a"`
	B         string `json:"b"`
	Duplicate bool   `json:"duplicate"`
}

// LabelledSet stores every distinct A and asks every B; duplicates are
// positives, wanting their A.
func LabelledSet(pairs []LabelledPair) EvalSet {
	var s EvalSet
	index := map[string]int{}
	for _, p := range pairs {
		i, ok := index[p.A]
		if !ok {
			i = len(s.Stored)
			index[p.A] = i
			s.Stored = append(s.Stored, p.A)
		}
		want := -1
		if p.Duplicate {
			want = i
		}
		s.Queries = append(s.Queries, EvalQuery{Text: p.B, Want: want})
	}
	return s
}

// ReadEvalSet reads either a GPTCache JSON array of {"origin", "similar"}
// (GPTCacheSet) or JSON lines of {"a", "b", "duplicate"} (LabelledSet).
func ReadEvalSet(r io.Reader) (EvalSet, error) {
	br := bufio.NewReader(r)
	for {
		c, err := br.ReadByte()
		if err != nil {
			return EvalSet{}, fmt.Errorf("read evaluation pairs: %w", err)
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if err := br.UnreadByte(); err != nil {
			return EvalSet{}, err
		}
		if c == '[' {
			return readGPTCache(br)
		}
		return readLabelled(br)
	}
}

// ReadEvalFile is ReadEvalSet on a file; errors name it.
func ReadEvalFile(name string) (EvalSet, error) {
	f, err := os.Open(name)
	if err != nil {
		return EvalSet{}, err
	}
	defer f.Close()
	s, err := ReadEvalSet(f)
	if err != nil {
		return EvalSet{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func readGPTCache(r io.Reader) (EvalSet, error) {
	var pairs []struct {
		Origin  *string `json:"origin"`
		Similar *string `json:"similar"`
	}
	if err := json.NewDecoder(r).Decode(&pairs); err != nil {
		return EvalSet{}, fmt.Errorf("read GPTCache pairs: %w", err)
	}
	origins, similars := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		if p.Origin == nil || p.Similar == nil {
			return EvalSet{}, fmt.Errorf("GPTCache pair %d: want origin and similar", i)
		}
		origins[i], similars[i] = *p.Origin, *p.Similar
	}
	return GPTCacheSet(origins, similars)
}

func readLabelled(r io.Reader) (EvalSet, error) {
	var pairs []LabelledPair
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var p struct {
			A, B      *string
			Duplicate *bool
		}
		if err := json.Unmarshal(text, &p); err != nil {
			return EvalSet{}, fmt.Errorf("labelled pairs line %d: %w", line, err)
		}
		if p.A == nil || p.B == nil || p.Duplicate == nil {
			return EvalSet{}, fmt.Errorf("labelled pairs line %d: want a, b and duplicate", line)
		}
		pairs = append(pairs, LabelledPair{A: *p.A, B: *p.B, Duplicate: *p.Duplicate})
	}
	if err := sc.Err(); err != nil {
		return EvalSet{}, fmt.Errorf("read labelled pairs: %w", err)
	}
	return LabelledSet(pairs), nil
}
