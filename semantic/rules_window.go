// The rules that read the two windows whole, before any word is aligned:
// the same numbers with the same bounds, a question for the same kind of
// answer.

package semantic

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// differentNumbers compares the numbers of two windows as multisets,
// each with the bound it is given: "at least 5" and "exactly 5" ask about
// different amounts.
func differentNumbers(q, s []token) string {
	nq, ns := numbersOf(q), numbersOf(s)
	if slices.Equal(nq, ns) {
		return ""
	}
	return fmt.Sprintf("numbers differ: [%s] vs [%s]", strings.Join(nq, " "), strings.Join(ns, " "))
}

func numbersOf(ts []token) []string {
	var out []string
	for i, t := range ts {
		if t.number {
			out = append(out, percentBase(ts, i)+bound(ts, i)+t.text)
		}
	}
	slices.Sort(out)
	return out
}

// percentBase is "of " when the number at ts[i] is what a percentage is
// taken of ("15% of 80"), and "" otherwise: "80 is 15% of what number"
// asks for another number than "what is 15% of 80", with the same ones.
func percentBase(ts []token, i int) string {
	if i >= 2 && ts[i-1].text == "of" && ts[i-2].text == "percent" {
		return "of "
	}
	return ""
}

// bound is "≥" when the words around the number at ts[i] make it a lower
// bound ("at least 5", "more than 5", "5 or more"), "≤" when they make it
// an upper one ("at most 5", "up to 5", "under 5", "5 or fewer"), and ""
// for the number itself. A strict bound counts as the inclusive one: "more
// than 5" and "5 or more" are said for the same thing.
func bound(ts []token, i int) string {
	word := func(j int) string {
		if j < 0 || j >= len(ts) {
			return ""
		}
		return ts[j].text
	}
	// After it, the bound may follow the number's noun ("5 ingredients
	// or fewer").
	before := word(i-2) + " " + word(i-1)
	after, later := word(i+1)+" "+word(i+2), word(i+2)+" "+word(i+3)
	switch {
	case lowerBefore[word(i-1)] || lowerBefore[before] || lowerAfter[after] || lowerAfter[later]:
		return "≥"
	case upperBefore[word(i-1)] || upperBefore[before] || upperAfter[after] || upperAfter[later]:
		return "≤"
	}
	return ""
}

// The words that bound a number, one or two before it, two after it.
var (
	lowerBefore = map[string]bool{"over": true, "above": true, "minimum": true, "at least": true, "more than": true, "greater than": true}
	upperBefore = map[string]bool{"under": true, "below": true, "maximum": true, "max": true, "at most": true, "up to": true, "less than": true, "fewer than": true}
	lowerAfter  = map[string]bool{"or more": true, "or above": true, "or over": true, "or older": true, "and up": true, "and over": true, "and above": true, "and older": true}
	upperAfter  = map[string]bool{"or less": true, "or fewer": true, "or under": true, "or below": true, "or younger": true, "and under": true, "and below": true, "and younger": true}
)

func count(ts []token, set map[string]bool) int {
	n := 0
	for _, t := range ts {
		if set[t.text] {
			n++
		}
	}
	return n
}

// questionKinds are the kinds of answer a window's question words ask
// for: a place (where), a time (when), a person (who), a reason (why), a
// measure or degree (how many, how much, how long, how often: "how many
// days" asks what "how long" does) or a manner (how does it work: not why
// it does). "What" and "which" ask for anything and are
// left out. With opening, only the words that open a sentence
// count: inside one they also join clauses ("what does it mean when …").
func questionKinds(ts []token, opening bool) map[string]bool {
	out := map[string]bool{}
	for i, t := range ts {
		if opening && !t.opens {
			continue
		}
		switch t.text {
		case "where", "when", "why":
			out[t.text] = true
		case "who", "whom", "whose":
			out["who"] = true
		case "how":
			if k := howKind(ts[i+1:]); k != "" {
				out[k] = true
			}
		}
	}
	return out
}

// howKind is what "how" asks for by the words after it: a measure or
// degree ("how often", "how frequently", "how salty is it"), a reason in
// "how come", a manner or means before a verb or its subject ("how did
// Zeus punish him", "how to"); "" when they do not tell (a misspelling).
func howKind(after []token) string {
	if len(after) == 0 {
		return ""
	}
	next := after[0].text
	switch {
	case measures[next] || strings.HasSuffix(next, "ly"):
		return "how much"
	case next == "come":
		return "why"
	case mannerAfterHow[next]:
		return "how"
	case len(after) > 1 && beVerbs[after[1].text]:
		return "how much"
	}
	return ""
}

// beVerbs after "how" and a word make that word a degree ("how salty is").
var beVerbs = setOf(`is are was were`)

// measures are the words after "how" that make it ask for a measure.
var measures = setOf(`many much long often old far big large tall high fast soon`)

// mannerAfterHow are the words that, after "how", start a clause: it then
// asks how something is done.
var mannerAfterHow = setOf(`do does did is are was were can could should would will shall may might must
to i you we they he she it has have had don't doesn't didn't can't`)

// otherQuestion: both windows open with a question for a definite kind of
// answer, and neither asks anywhere for the kind the other opens with
// ("where should I keep my savings" against "how much should I keep in
// savings"; "when was it built, and by whom" asks what "who built it and
// when" does).
func otherQuestion(q, s []token) string {
	oq, os := questionKinds(q, true), questionKinds(s, true)
	if len(oq) == 0 || len(os) == 0 {
		return ""
	}
	aq, as := questionKinds(q, false), questionKinds(s, false)
	for k := range oq {
		if as[k] {
			return ""
		}
	}
	for k := range os {
		if aq[k] {
			return ""
		}
	}
	return fmt.Sprintf("asks %s, not %s", strings.Join(slices.Sorted(maps.Keys(oq)), "/"), strings.Join(slices.Sorted(maps.Keys(os)), "/"))
}
