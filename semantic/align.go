package semantic

import (
	"slices"
	"strings"
)

// alignment is what is left of two windows once their content words are
// paired: the unaligned words of the query (q) and of the stored window
// (s), and how many content words there were.
type alignment struct {
	q, s    []token
	content int
	// extraQ and extraS are the small words (stopwords aside) one side has
	// more of than the other: "from" against "to".
	extraQ, extraS []string
	// cq and cs are the content words of each window, in order; partner
	// maps the position of a word of q paired one for one with a word of
	// s to that word's position.
	cq, cs  []token
	partner map[int]int
}

// align pairs every content word of q with one of s: the same word, the
// same base form or a synonym; then a word the other window writes as two
// ("huggingface"/"hugging face") or abbreviates ("US"/"United States");
// then a misspelling, a clipping or a contraction, of any word of the
// other window.
func (c *Checker) align(q, s []token) alignment {
	a := alignment{cq: content(q), cs: content(s), partner: map[int]int{}}
	a.content = len(a.cq) + len(a.cs)
	// The strongest match first: a word that is there as such must not be
	// taken by another one's base form or synonym ("loaded" must leave
	// "load" to "load").
	// A word written as a name pairs first with itself written as a name:
	// "`load_dataset()`" has its own counterpart, and a window that also
	// says "load" has that word left over, not the name.
	restQ, restS := a.pairOff(a.cq, a.cs, func(x, y token) bool { return x.text == y.text && x.entity == y.entity })
	restQ, restS = a.pairOff(restQ, restS, byText(func(x, y string) bool { return x == y }))
	restQ, restS = a.pairOff(restQ, restS, byText(func(x, y string) bool { return stem(x) == stem(y) }))
	restQ, restS = a.pairOff(restQ, restS, byText(c.same))
	restQ, restS = joinWords(restQ, restS, s)
	restS, restQ = joinWords(restS, restQ, q)
	a.q, a.s = a.pairOff(restQ, restS, func(x, y token) bool {
		return c.misspelt(x.text, y.text) || c.clipped(x.text, y.text) || c.contracted(x, y)
	})
	a.q = c.dropMisspelt(dropPresent(a.q, s), s)
	a.s = c.dropMisspelt(dropPresent(a.s, q), q)
	a.extraQ, a.extraS = extras(q, s)
	return a
}

// joinWords drops from words each one that a run of adjacent words of the
// other window writes out: joined ("hugging face" for "huggingface") or
// by their initials ("united states" for "us", "new york city" for
// "nyc"); the run's words leave others too.
func joinWords(words, others []token, window []token) (restWords, restOthers []token) {
	restOthers = others
	for _, t := range words {
		from, to := spelledOut(t.text, window)
		if from < 0 {
			restWords = append(restWords, t)
			continue
		}
		restOthers = slices.DeleteFunc(restOthers, func(o token) bool {
			return slices.ContainsFunc(window[from:to], func(w token) bool { return w.text == o.text })
		})
	}
	return restWords, restOthers
}

// spelledOut finds a run of two or more adjacent words of window that
// joined, or by their initials, make word. It returns the run's bounds, or
// -1. A run stops growing once neither its joined words nor its initials
// can still make word, so that the joined string never outgrows word.
func spelledOut(word string, window []token) (from, to int) {
	initialism := len(word) <= 4
	for i := range window {
		joined, initials := "", ""
		for j := i; j < len(window); j++ {
			if len(joined) >= len(word) && (!initialism || len(initials) >= len(word)) {
				break
			}
			joined += window[j].text
			initials += window[j].text[:1]
			if j > i && (joined == word || initialism && initials == word) {
				return i, j + 1
			}
		}
	}
	return -1, -1
}

// dropPresent drops the words the other window has as a small word: a
// word quoted on one side is a content word there, and the same word
// unquoted on the other may be a small one ("is it 'fewer' or 'less'"
// against "fewer or less").
func dropPresent(words, other []token) []token {
	return slices.DeleteFunc(words, func(t token) bool {
		return slices.ContainsFunc(other, func(o token) bool { return o.text == t.text && !isContent(o) })
	})
}

// dropRepeated drops the unaligned words that repeat, in the same form or
// another, a content word of their window that did align: "tyre pressure
// ... 25mm tyres" names one thing twice, and the other window's "tires"
// once. A repeat right after an unaligned word is not dropped: "keep the
// original hem" names another thing than "hem the jeans"; nor is the
// repeat of a word right after one: "a bird base from a preliminary base"
// names two things. words are the window's unaligned content words, all
// its content words.
func dropRepeated(words, all []token) []token {
	unaligned := make(map[int]bool, len(words))
	for _, w := range words {
		unaligned[w.at] = true
	}
	return slices.DeleteFunc(slices.Clone(words), func(t token) bool {
		return !unaligned[t.at-1] && slices.ContainsFunc(all, func(o token) bool {
			return !unaligned[o.at] && !unaligned[o.at-1] && inflected(t.text, o.text)
		})
	})
}

// inflected reports whether a and b are one word, or forms of one word by
// their spelling ("tyre"/"tyres", "boil"/"boiling").
func inflected(a, b string) bool {
	return a == b || stem(a) == stem(b) || strings.TrimSuffix(a, "s") == strings.TrimSuffix(b, "s")
}

// dropMisspelt drops the words that are a misspelling of a word of the
// other window, small words included ("shoud" for "should").
func (c *Checker) dropMisspelt(words, other []token) []token {
	return slices.DeleteFunc(words, func(t token) bool {
		return slices.ContainsFunc(other, func(o token) bool { return c.misspelt(t.text, o.text) })
	})
}

// pairOff matches each of xs (words of q) with an unused one of ys (of s),
// records the pairs, and returns those of both that found no partner.
func (a *alignment) pairOff(xs, ys []token, match func(x, y token) bool) (restX, restY []token) {
	used := make([]bool, len(ys))
	for _, x := range xs {
		found := false
		for i, y := range ys {
			if !used[i] && match(x, y) {
				used[i], found = true, true
				a.partner[x.at] = y.at
				break
			}
		}
		if !found {
			restX = append(restX, x)
		}
	}
	for i, y := range ys {
		if !used[i] {
			restY = append(restY, y)
		}
	}
	return restX, restY
}

// byText matches two tokens by their words.
func byText(match func(x, y string) bool) func(x, y token) bool {
	return func(x, y token) bool { return match(x.text, y.text) }
}

func (c *Checker) same(a, b string) bool {
	if a == b || stem(a) == stem(b) {
		return true
	}
	// Two units of measure are never one (units): "every 5 minutes" is not
	// "every 5 hours", whatever other sense the two share.
	return c.Lexicon != nil && c.Lexicon.Relate(a, b) == Same && (c.Without[CheckUnits] || !c.Lexicon.OtherUnits(a, b))
}

// misspelt: one edit apart (two for long words), neither a known word, and
// not opposites by a prefix ("install"/"uninstall"). Words of three
// letters differ by one edit from too many others ("aws"/"laws"); a typo
// that swaps two of their letters keeps them ("syk"/"sky").
func (c *Checker) misspelt(a, b string) bool {
	if prefixOpposite(a, b) || c.Lexicon != nil && c.Lexicon.Known(a) && c.Lexicon.Known(b) {
		return false
	}
	if len(a) == 3 && len(b) == 3 {
		return a != b && sortedLetters(a) == sortedLetters(b) && EditDistance(a, b, 1) == 1
	}
	limit := 1
	if min(len(a), len(b)) >= 8 {
		limit = 2
	}
	return len(a) >= 4 && len(b) >= 4 && EditDistance(a, b, limit) <= limit
}

func sortedLetters(w string) string {
	b := []byte(w)
	slices.Sort(b)
	return string(b)
}

// clipped: one word is the start of the other, at least two letters
// shorter, and not a word the lexicon knows: a clipping ("dict" for
// "dictionary", "repo" for "repository"). One letter more is another word
// ("WWI" and "WWII"), or a typo the misspelling rule judges. Without a
// lexicon no word is known, and so none is clipped.
func (c *Checker) clipped(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return c.Lexicon != nil && len(a) >= 3 && len(a)+2 <= len(b) && strings.HasPrefix(b, a) && !c.Lexicon.Known(a)
}

// contracted: a word the lexicon does not know keeps the first letter,
// the first consonant after it, and then only consonants of a known word,
// in order: a contraction ("tbsp" for "tablespoons", "ppl" for "people",
// "hrs" for "hours"). Its second letter must be the word's first consonant
// after the first letter, or "tsp" (teaspoons) would contract
// "tablespoons" too. Names are left out: an acronym ("DST", "CNN") is the
// initials of several words, not a contraction of one. Three letters at
// least: two ("db") fit too many words ("database", "dashboard").
func (c *Checker) contracted(x, y token) bool {
	if len(x.text) > len(y.text) {
		x, y = y, x
	}
	short, long := x.text, y.text
	if c.Lexicon == nil || x.entity || len(short) < 3 || len(long) < len(short)+2 || short[0] != long[0] ||
		strings.ContainsAny(short[1:], vowels) || c.Lexicon.Known(short) || !c.Lexicon.Known(long) {
		return false
	}
	if i := strings.IndexFunc(long[1:], func(r rune) bool { return !strings.ContainsRune(vowels, r) }); i < 0 || long[1+i] != short[1] {
		return false
	}
	rest := long[1:]
	for _, r := range short[1:] {
		i := strings.IndexRune(rest, r)
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
	}
	return true
}

// vowels are the letters a contraction drops.
const vowels = "aeiouy"

func content(ts []token) []token {
	var out []token
	for _, t := range ts {
		if isContent(t) {
			out = append(out, t)
		}
	}
	return out
}

// isContent: a name, or a word that is neither small nor a number.
func isContent(t token) bool {
	return t.entity || !t.number && !stopwords[t.text] && !negators[t.text] && !functionWords[t.text]
}

// extras are the words one window has more often than the other.
func extras(q, s []token) (extraQ, extraS []string) {
	n := map[string]int{}
	for _, t := range q {
		n[t.text]++
	}
	for _, t := range s {
		n[t.text]--
	}
	for w, k := range n {
		switch {
		case k > 0:
			extraQ = append(extraQ, w)
		case k < 0:
			extraS = append(extraS, w)
		}
	}
	slices.Sort(extraQ)
	slices.Sort(extraS)
	return extraQ, extraS
}

// stem is a light suffix strip for words the lexicon does not know.
func stem(w string) string {
	for _, suf := range []string{"ing", "ly", "ed", "es", "s"} {
		if b, ok := strings.CutSuffix(w, suf); ok && len(b) >= 3 {
			return b
		}
	}
	return w
}

// EditDistance is the Levenshtein distance of a and b, a transposition
// counting as one edit, or limit+1 once it exceeds limit.
func EditDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	before := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1) // a transposition
			}
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}
