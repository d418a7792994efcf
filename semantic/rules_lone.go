// The rules about the one content word a pair does not align: a word in
// the place of a generic one, a modifier or an object added.

package semantic

import (
	"fmt"
	"slices"
)

// genericWords are small words that the alignment leaves out but that
// say something when a content word stands in their place: a verb of
// general action on an object ("find the process" against "kill the
// process"), a pronoun for anyone ("to everyone" against "to the host")
// or a quantifier over all ("all paragraphs" against "the first
// paragraph"). Verbs that take a clause rather than an object are left
// out: "get my kitten spayed", "tell if it is a cold", "show me how".
var genericWords = setOf(`go goes going went keep keeps kept use uses used using
take takes taking took make makes making made put puts find
everyone anyone everybody anybody somebody someone everything anything something
all every each`)

// genericVerbs are the generic words a more specific verb may stand for
// ("access" is a way to "find"); a pronoun or quantifier narrowed to a
// kind of thing ("someone" to "a baby") asks about that kind only.
var genericVerbs = setOf(`go goes going went keep keeps kept use uses used using
take takes taking took make makes making made put puts find`)

// forGenericWord: the one unaligned content word of a window, and none
// on the other side, stands where the other window has, between the same
// aligned words, a generic word it does not mean ("kill the process" /
// "find which process", "goodbye to the host" / "goodbye to everyone").
func (c *Checker) forGenericWord(a alignment, q, s []token) string {
	l, ok := a.lone(q, s)
	if !ok {
		return ""
	}
	from, to, ok := l.gap()
	if !ok {
		return ""
	}
	// Only small words between: content words there moved, and the
	// sentence was built anew ("can be used to load" / "loaded using").
	gap := l.other[from:to]
	if slices.ContainsFunc(gap, isContent) {
		return ""
	}
	for _, y := range gap {
		if genericWords[y.text] && !c.same(l.word().text, y.text) && !(genericVerbs[y.text] && c.Lexicon != nil && c.Lexicon.Relate(l.word().text, y.text) == Kind) {
			return fmt.Sprintf("%q stands where %q does", l.word().text, y.text)
		}
	}
	return ""
}

// addedModifier: the one unaligned content word of a window, and none on
// the other side, stands right before a word both windows share ("my
// weighted gpa" against "my gpa", "phone camera" against "camera"): it
// narrows the thing asked about to a kind of it.
func addedModifier(a alignment, q, s []token) string {
	l, ok := a.lone(q, s)
	if !ok || a.content > maxModified {
		return ""
	}
	x := l.word()
	if x.at+1 >= len(l.window) || l.i+1 >= len(l.content) || l.content[l.i+1].at != x.at+1 || saidAligned(l.window, []token{x}, x.text) {
		return ""
	}
	head, ok := l.partner(x.at + 1)
	if !ok {
		return ""
	}
	// The word is inserted into a sequence both windows have: what stands
	// before it stands before the shared word on the other side ("my
	// weighted gpa" / "my gpa", "best phone camera" / "best camera"), not
	// a word moved there ("python loop throws IndexError" / "getting
	// IndexError") or a verb for another ("I cook pancakes" / "make
	// pancakes").
	if !l.before(x.at, head) {
		return ""
	}
	return fmt.Sprintf("%q narrows %q", x.text, l.window[x.at+1].text)
}

// addedObject: the one unaligned content word of a short pair, and none
// on the other side, ends its window as the object of a relation word the
// other window lacks, after the word that ends the other window ("a
// moving day essentials box for a baby" against "a moving day essentials
// box"): it narrows the request to a case of it.
func addedObject(a alignment, q, s []token) string {
	l, ok := a.lone(q, s)
	if !ok || a.content > maxModified || l.i != len(l.content)-1 || l.i == 0 {
		return ""
	}
	extra := a.extraQ
	if l.stored {
		extra = a.extraS
	}
	x, prev := l.word(), l.content[l.i-1]
	if p, ok := l.partner(prev.at); !ok || p != content(l.other)[len(content(l.other))-1].at {
		return ""
	}
	// A noun phrase: a determiner before the word ("for a baby"), or the
	// relation word itself ("for someone with diabetes"), not a verb ("how
	// to remove") or an amount ("than 300 dollars").
	last := x.at - 2
	if w := l.window[x.at-1].text; w != "to" && relation(w) != "" {
		last = x.at - 1
	} else if !determiners[w] {
		return ""
	}
	for k := last; k > prev.at; k-- {
		if w := l.window[k].text; relation(w) != "" && slices.Contains(extra, w) {
			return fmt.Sprintf("%q %s narrows the request", w, x.text)
		}
	}
	return ""
}

// determiners open a noun phrase.
var determiners = setOf(`a an the my your our his her their its this that these those`)

// before: the tokens before window[at] and before other[head] are the
// same small word (or both the start), or partners.
func (l loneWord) before(at, head int) bool {
	switch {
	case at == 0 || head == 0:
		return at == 0 && head == 0
	case !isContent(l.window[at-1]) && article(l.window[at-1].text) == article(l.other[head-1].text):
		return true
	}
	p, ok := l.partner(at - 1)
	return ok && p == head-1
}

// article reads "a", "an" and "the" as one small word: "an average"
// and "a weighted average" stand in one place.
func article(w string) string {
	if w == "a" || w == "an" || w == "the" {
		return "a"
	}
	return w
}

// maxModified bounds the content words (of both windows) of a pair the
// modifier rule reads: in a chat question one word added before a noun
// narrows what is asked (eight content words a side are a chat request:
// "write a short invitation for a surprise 40th birthday party"); in a
// long statement it more often restates it ("its corresponding
// tokenizer").
const maxModified = 16

// loneWord is the one unaligned content word of a pair, on the side that
// has it: window's content word content[i]; other is the other window.
type loneWord struct {
	window, content, other []token
	i                      int
	// pairs maps the position of a word of the query paired one for one
	// to its partner's in the stored window; stored: the lone word is the
	// stored window's.
	pairs  map[int]int
	stored bool
}

func (l loneWord) word() token { return l.content[l.i] }

// partner is the position in other of the partner of window[at].
func (l loneWord) partner(at int) (int, bool) {
	if !l.stored {
		p, ok := l.pairs[at]
		return p, ok
	}
	for k, v := range l.pairs {
		if v == at {
			return k, true
		}
	}
	return 0, false
}

// lone finds the pair's one unaligned content word, if one side has one
// and the other none.
func (a alignment) lone(q, s []token) (loneWord, bool) {
	l := loneWord{window: q, content: a.cq, other: s, pairs: a.partner}
	unaligned := a.q
	switch {
	case len(a.q) == 1 && len(a.s) == 0:
	case len(a.s) == 1 && len(a.q) == 0:
		l.window, l.content, l.other, l.stored = s, a.cs, q, true
		unaligned = a.s
	default:
		return loneWord{}, false
	}
	l.i = slices.IndexFunc(l.content, func(t token) bool { return t.at == unaligned[0].at })
	return l, l.i >= 0
}

// gap is where the lone word stands in the other window: the tokens
// between the partners of its content neighbours (or the window's ends).
func (l loneWord) gap() (from, to int, ok bool) {
	from, to = 0, len(l.other)
	if l.i > 0 {
		p, ok := l.partner(l.content[l.i-1].at)
		if !ok {
			return 0, 0, false
		}
		from = p + 1
	}
	if l.i+1 < len(l.content) {
		p, ok := l.partner(l.content[l.i+1].at)
		if !ok {
			return 0, 0, false
		}
		to = p
	}
	return from, to, from <= to
}
