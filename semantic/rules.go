package semantic

import (
	"fmt"
	"slices"
	"strings"
)

// opposite finds a word on one side whose opposite is on the other.
func (c *Checker) opposite(a alignment) string {
	for _, x := range a.extraQ {
		for _, y := range a.extraS {
			if opposites[[2]string{x, y}] || prefixOpposite(x, y) ||
				c.Lexicon != nil && c.Lexicon.Relate(x, y) == Opposite {
				return fmt.Sprintf("%q and %q are opposites", x, y)
			}
		}
	}
	return ""
}

// directional words take an object whose change reverses or retargets a
// request: "convert miles to km", "flights from Paris", "faster than C".
var directional = map[string]string{
	"to": "to", "into": "to", "from": "from", "than": "than", "per": "per", "vs": "vs", "versus": "vs",
	"for": "for", "instead": "instead", "over": "over", "under": "under", "on": "on", "onto": "on",
	"after": "after", "before": "before", "by": "by", "with": "with", "without": "without",
}

// direction finds a reversed request: the object of a directional word on
// one side is elsewhere on the other side, and the other way round
// ("convert miles to km" against "convert km to miles"). Neither object
// is part of the other: "to refreeze" against "to refreeze chicken" names
// one object twice.
func (c *Checker) direction(q, s []token) string {
	oq, os := objects(q), objects(s)
	for dir, x := range oq {
		y, ok := os[dir]
		if ok && !c.within(x, y) && !c.within(y, x) && c.containsPhrase(s, x) && c.containsPhrase(q, y) {
			return fmt.Sprintf("reversed: %q %s against %q %s", dir, x, dir, y)
		}
	}
	return ""
}

// within: every word of phrase x is a word of phrase y.
func (c *Checker) within(x, y string) bool {
	ys := strings.Fields(y)
	for _, w := range strings.Fields(x) {
		if !slices.ContainsFunc(ys, func(v string) bool { return c.same(w, v) }) {
			return false
		}
	}
	return true
}

// containsPhrase: every word of the phrase is somewhere in ts.
func (c *Checker) containsPhrase(ts []token, phrase string) bool {
	for _, w := range strings.Fields(phrase) {
		if !slices.ContainsFunc(ts, func(t token) bool { return c.same(t.text, w) }) {
			return false
		}
	}
	return true
}

// objects maps each directional word used once in ts to the phrase after
// it: the content words up to the next small word ("for baking soda in" →
// "baking soda"). A word used more than once belongs to several clauses,
// and which of them pair up is beyond a word-level check.
func objects(ts []token) map[string]string {
	out := map[string]string{}
	seen := map[string]int{}
	for i, t := range ts {
		dir, ok := directional[t.text]
		if !ok {
			continue
		}
		seen[dir]++
		var phrase []string
		for _, u := range ts[i+1:] {
			if isContent(u) {
				phrase = append(phrase, u.text)
				continue
			}
			if len(phrase) > 0 {
				break
			}
		}
		out[dir] = strings.Join(phrase, " ")
	}
	for dir, n := range seen {
		if n > 1 || out[dir] == "" {
			delete(out, dir)
		}
	}
	return out
}

// otherRelation: the content words all align, and a small word that
// sets a relation (a directional word, or "of") on one side stands
// between the same words as another on the other side ("exercise after
// a fever" against "exercise with a fever", "theft of my car" against
// "theft from my car"): the words are the same, their relation is not.
func otherRelation(a alignment, q, s []token) string {
	if len(a.q)+len(a.s) > 0 {
		return ""
	}
	for _, x := range q {
		for _, y := range s {
			if dx, dy := relation(x.text), relation(y.text); dx != "" && dy != "" && dx != dy &&
				slices.Contains(a.extraQ, x.text) && slices.Contains(a.extraS, y.text) && a.samePlace(q, x.at, s, y.at) {
				return fmt.Sprintf("%q against %q", x.text, y.text)
			}
		}
	}
	return ""
}

// samePlace: q[i] and s[j] stand between partners, the content words
// nearest them on either side (or the same ends of the windows).
func (a alignment) samePlace(q []token, i int, s []token, j int) bool {
	before := func(ts []token, k int) int {
		for k--; k >= 0 && !isContent(ts[k]); k-- {
		}
		return k
	}
	after := func(ts []token, k int) int {
		for k++; k < len(ts) && !isContent(ts[k]); k++ {
		}
		return k
	}
	return a.partners(q, before(q, i), s, before(s, j)) && a.partners(q, after(q, i), s, after(s, j))
}

// relation is the relation a small word sets between the words around
// it: a directional word's, or "of" (the theft of a car is not a theft
// from it).
func relation(w string) string {
	if w == "of" {
		return w
	}
	return directional[w]
}

// swappedPhrase: the unaligned content words of each window are one run
// of adjacent words, and the two runs stand in the same place, between
// the same aligned words or at the same end ("pay off my student loan
// debt" against "pay off my credit card debt", "how long do hamsters
// live" against "how long do guinea pigs live"). It is one thing asked
// about instead of another, as a one-word swap is.
func swappedPhrase(a alignment) string {
	iq, jq, okQ := oneRun(a.cq, a.q)
	is, js, okS := oneRun(a.cs, a.s)
	if !okQ || !okS {
		return ""
	}
	// The words on either side of the runs must be partners; the ends of
	// the windows stand for themselves.
	if !a.partners(a.cq, iq-1, a.cs, is-1) || !a.partners(a.cq, jq, a.cs, js) {
		return ""
	}
	return fmt.Sprintf("%q stands where %q does", words(a.cq[iq:jq]), words(a.cs[is:js]))
}

// oneRun finds the unaligned words among ws as one run ws[i:j], if they
// are one run.
func oneRun(ws, unaligned []token) (i, j int, ok bool) {
	if len(unaligned) == 0 {
		return 0, 0, false
	}
	i = slices.IndexFunc(ws, func(t token) bool { return t.at == unaligned[0].at })
	j = i + len(unaligned)
	if i < 0 || j > len(ws) {
		return 0, 0, false
	}
	for k, t := range unaligned {
		if ws[i+k].at != t.at {
			return 0, 0, false
		}
	}
	return i, j, true
}

// partners: the words cq[i] and cs[k] were paired, or both i and k are
// past the same end of their windows (cq and cs: the windows' content
// words, or the windows).
func (a alignment) partners(cq []token, i int, cs []token, k int) bool {
	switch {
	case i < 0 || k < 0:
		return i < 0 && k < 0
	case i >= len(cq) || k >= len(cs):
		return i >= len(cq) && k >= len(cs)
	}
	p, ok := a.partner[cq[i].at]
	return ok && p == cs[k].at
}

func words(ts []token) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.text
	}
	return strings.Join(out, " ")
}

// droppedConjunct: a window coordinates an unaligned word with an aligned
// one ("horizontally and vertically", "salt or pepper"), and the other
// window has no unaligned word at all: it asks about one of the two, the
// first about both.
func droppedConjunct(a alignment, q, s []token) string {
	if len(a.q) > 0 && len(a.s) > 0 {
		return ""
	}
	window, unaligned := q, a.q
	if len(a.s) > 0 {
		window, unaligned = s, a.s
	}
	for i := 1; i+1 < len(window); i++ {
		if window[i].text != "and" && window[i].text != "or" {
			continue
		}
		l, r := window[i-1], window[i+1]
		lu, ru := isUnaligned(unaligned, l), isUnaligned(unaligned, r)
		u := r
		if lu {
			u = l
		}
		// A word said twice ("git merge and git rebase") is unaligned once
		// but is no second thing.
		if isContent(l) && isContent(r) && lu != ru && !saidAligned(window, unaligned, u.text) {
			return fmt.Sprintf("%q %s %q against one of them", l.text, window[i].text, r.text)
		}
	}
	return ""
}

func isUnaligned(unaligned []token, t token) bool {
	return slices.ContainsFunc(unaligned, func(u token) bool { return u.at == t.at })
}

// saidAligned: the window has the word aligned somewhere.
func saidAligned(window, unaligned []token, word string) bool {
	return slices.ContainsFunc(window, func(t token) bool { return t.text == word && !isUnaligned(unaligned, t) })
}

// otherUnits finds two unaligned words that name different units of
// measure ("every 5 hours" against "every 5 minutes"): same refuses to
// align them, and this says why.
func (c *Checker) otherUnits(a alignment) string {
	if c.Lexicon == nil {
		return ""
	}
	for _, x := range a.q {
		for _, y := range a.s {
			if c.Lexicon.OtherUnits(x.text, y.text) {
				return fmt.Sprintf("%q and %q are different units", x.text, y.text)
			}
		}
	}
	return ""
}

// degreeWords compare without a suffix of their own.
var degreeWords = setOf(`more most less least fewer fewest better best worse worst`)

// compared: a comparative or superlative ("most", "biggest").
func (c *Checker) compared(w string) bool {
	return degreeWords[w] || c.Lexicon != nil && c.Lexicon.Compared(w)
}

// otherComparison: an unaligned comparative or superlative on one side,
// right before a word both sides share, and on the other a comparison it
// does not align with ("the biggest moon" against "the most moons", "the
// cheapest flight" against "the fastest flight"): the two ask for the top
// of different scales. "The largest number of moons" compares what "the
// most moons" does: "number" is no shared word.
func (c *Checker) otherComparison(a alignment, q, s []token) string {
	for _, side := range [2]struct{ window, unaligned, otherUnaligned, other []token }{{q, a.q, a.s, s}, {s, a.s, a.q, q}} {
		for _, x := range side.unaligned {
			if !c.compared(x.text) || x.at+1 >= len(side.window) {
				continue
			}
			if next := side.window[x.at+1]; !isContent(next) || isUnaligned(side.unaligned, next) {
				continue
			}
			for _, y := range side.other {
				free := !isContent(y) || isUnaligned(side.otherUnaligned, y)
				if free && y.text != x.text && c.compared(y.text) && !c.same(x.text, y.text) {
					return fmt.Sprintf("%q and %q compare on different scales", x.text, y.text)
				}
			}
		}
	}
	return ""
}

// oneSidedNegation: one window negates and the other does not, and the
// negation bears on what both ask about: one of the next three content
// words after a negator, in its sentence, is aligned ("can I not take
// ibuprofen" / "can I take ibuprofen"). A negation whose words the other
// window lacks is part of a phrase said another way ("I don't have a
// starter" / "from scratch", "BATNA … and I don't get it"): the rules,
// the tiers and the score weigh those words as any unaligned ones.
func oneSidedNegation(a alignment, q, s []token) string {
	if (count(q, negators) == 0) == (count(s, negators) == 0) {
		return ""
	}
	for _, side := range []struct{ ts, unaligned []token }{{q, a.q}, {s, a.s}} {
		if neg, word := negatedAligned(side.ts, side.unaligned); neg != "" {
			return fmt.Sprintf("a negation on one side only: %q before %q", neg, word)
		}
	}
	return ""
}

// negatedAligned finds a negator of ts followed, within the next three
// content words of its sentence, by one aligned with the other window (not
// among unaligned), and returns both.
func negatedAligned(ts, unaligned []token) (neg, word string) {
	for i, t := range ts {
		if !negators[t.text] {
			continue
		}
		n := 0
		for _, u := range ts[i+1:] {
			if u.opens || n == 3 {
				break
			}
			if !isContent(u) {
				continue
			}
			n++
			if !slices.ContainsFunc(unaligned, func(x token) bool { return x.at == u.at }) {
				return t.text, u.text
			}
		}
	}
	return "", ""
}
