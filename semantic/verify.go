package semantic

import (
	"fmt"
	"strings"
)

// Verdict is a verifier's decision on serving a stored window's answer to a
// query window, and why.
type Verdict struct {
	Accept bool
	// Differs: a check rejected the pair, having found what the two
	// windows ask differently ("'first' and 'last' are opposites"), not
	// merely a distance too large for how much their wording differs.
	// The cache tells the candidates after it (Pair.NearerDiffers).
	Differs bool
	// Reason says why, for explain, eval and logs at debug level ("'first'
	// and 'last' are opposites").
	Reason string
}

// Verifier decides whether a stored window asks the same thing as a query
// window that the vector search found near it. Embeddings place "convert
// miles to km" next to "convert km to miles"; a verifier reads the words.
type Verifier interface {
	Verify(p Pair) Verdict
}

// Pair is a query window and a stored window the vector search found
// near it.
type Pair struct {
	Query, Stored string
	Distance      float64
	// Neighbours counts the other entries the search found within the
	// threshold (at most candidates-1): a query among several stored
	// prompts lies where the embedder tells prompts apart least, and
	// needs more evidence than one with a single entry near it.
	Neighbours int
	// NearerDiffers reports that a check rejected a nearer candidate
	// (Verdict.Differs): the query most likely asks that entry's question
	// with one thing changed, and a farther entry that only the
	// acceptance score would serve is most likely that entry reworded (a
	// cache that stores its misses holds both). The acceptance score then
	// serves nothing: such a pair is served only within the distance
	// tiers (without the score, the tiers decide every pair anyway).
	NearerDiffers bool
}

// The checks a Checker runs, by the names eval's -without flag takes.
const (
	CheckNumbers    = "numbers"    // the same numbers and operators
	CheckNegation   = "negation"   // no negation on one side only of what both ask about
	CheckQuestion   = "question"   // the same kind of answer asked for (where, how much)
	CheckOpposites  = "opposites"  // no word against its opposite (first/last, install/uninstall)
	CheckDirection  = "direction"  // no reversed request (miles to km / km to miles)
	CheckNames      = "names"      // every name has its counterpart, no unknown word stands for another
	CheckSiblings   = "siblings"   // no thing swapped for another of its kind (Paris/Lyon)
	CheckUnits      = "units"      // no unit of measure aligned with another (minutes/hours)
	CheckComparison = "comparison" // no comparison against another (biggest/most)
	CheckConjunct   = "conjunct"   // no "X and Y" against X alone
	CheckSwap       = "swap"       // no content word or phrase swapped for an unrelated one
	CheckGeneric    = "generic"    // no content word where the other has a generic one (kill/find)
	CheckModifier   = "modifier"   // no word added before a shared one (weighted gpa/gpa)
	CheckRoles      = "roles"      // no two words trading places around a third (slow on the phone, fast on the laptop)
	CheckTiers      = "tiers"      // the more words differ, the nearer the pair must be
	CheckScore      = "score"      // beyond the tiers, the fitted acceptance score may still serve (Checker.Score)
)

// Checks lists every check, in the order they run.
var Checks = []string{
	CheckNumbers, CheckNegation, CheckQuestion, CheckOpposites, CheckDirection, CheckNames, CheckSiblings,
	CheckUnits, CheckComparison, CheckConjunct, CheckSwap, CheckGeneric, CheckModifier, CheckRoles, CheckTiers, CheckScore,
}

// Checker is the built-in verifier. It aligns the content words of two
// windows (the same word, base form or synonym, a misspelling, a compound)
// and rejects the pair when what differs changes the answer: numbers,
// negation, opposites, a reversed direction, a name, another thing of the
// same kind, or any word swapped for an unrelated one. A pair that passes
// is served when it is near enough for how much differs (see Verify).
// Without a Lexicon it knows words by spelling only, and accepts less.
type Checker struct {
	Lexicon Lexicon
	// Threshold is the cache's distance threshold, the radius of the
	// search: pairs whose content words all align are served up to it.
	Threshold float64
	// Without names checks to skip, to measure what each one does.
	Without map[string]bool
	// Score, when set, decides what passed the checks instead of the
	// distance tiers: a fitted acceptance score (accept.go; not the
	// default, README, Cache quality says why).
	Score *AcceptModel
}

var _ Verifier = (*Checker)(nil)

// The distance tiers, as fractions of the threshold, by what the
// unaligned content words of a pair that passed every check look like:
// none, up to the threshold; one word added or dropped, which may narrow
// or widen the question ("black keys"), up to two fifths of it; a small share
// of a long window's words (three of thirty), a third of it; more, an
// eighth of it. Fitted on testdata/quality/everyday-a.jsonl,
// everyday-b.jsonl and the GPTCache queries; see README, Cache quality.
const (
	oneWordTier    = 2.0 / 5
	smallShareTier = 1.0 / 3
	smallShare     = 0.15
	manyWordsTier  = 1.0 / 8
)

// tierLimit is the largest distance, as a share of the threshold, at
// which the tiers serve a pair with features f.
func tierLimit(f Features) float64 {
	switch {
	case f[FeatureUnaligned] == 0:
		return 1
	case f[FeatureUnaligned] == 1:
		return oneWordTier
	case f[FeatureShare] <= smallShare:
		return smallShareTier
	}
	return manyWordsTier
}

// maxVerifiedWords bounds the words of either window the verifier reads.
const maxVerifiedWords = 400

// Verify implements Verifier.
func (c *Checker) Verify(p Pair) Verdict {
	distance := p.Distance
	if distance > c.Threshold {
		return Verdict{Reason: fmt.Sprintf("distance %s is beyond the threshold %g", FormatDistance(distance, false), c.Threshold)}
	}
	q, st := tokenize(p.Query), tokenize(p.Stored)
	if len(q) > maxVerifiedWords || len(st) > maxVerifiedWords {
		// Alignment compares every word with every other: a bound keeps a
		// hostile prompt from costing seconds. The local model reads 128
		// tokens, so its windows never come near it.
		return Verdict{Reason: fmt.Sprintf("rejected: over %d words, too long to verify word by word", maxVerifiedWords)}
	}
	a, reason := c.check(q, st)
	if reason != "" {
		return Verdict{Differs: true, Reason: "rejected: " + reason}
	}
	f := c.features(a, p)
	if c.Score != nil && !c.Without[CheckTiers] && !c.Without[CheckScore] {
		return c.scoreVerdict(c.Score, a, f, p.NearerDiffers)
	}
	limit := c.Threshold
	if !c.Without[CheckTiers] {
		limit *= tierLimit(f)
	}
	words := describe(a)
	if distance > limit {
		return Verdict{Reason: fmt.Sprintf("rejected: %s, so the distance must be at most %.4f", words, limit)}
	}
	return Verdict{Accept: true, Reason: "accepted: " + words}
}

// check runs the rules in order and returns the alignment, or the first
// rule that rejects the pair.
func (c *Checker) check(q, s []token) (alignment, string) {
	if !c.Without[CheckNumbers] {
		if reason := differentNumbers(q, s); reason != "" {
			return alignment{}, reason
		}
	}
	if !c.Without[CheckQuestion] {
		if reason := otherQuestion(q, s); reason != "" {
			return alignment{}, reason
		}
	}
	a := c.align(q, s)
	if !c.Without[CheckNegation] {
		if reason := oneSidedNegation(a, q, s); reason != "" {
			return a, reason
		}
	}
	for _, r := range wordRules {
		if c.Without[r.check] {
			continue
		}
		if reason := r.rule(c, a, q, s); reason != "" {
			return a, reason
		}
	}
	// The rules read every unaligned word ("100 km ride ... 30 miles"
	// against "100 mile ride ... 30 miles" is a change of unit); what
	// differs, for the distance tiers and the score, is what is left once
	// a window's repeats of its aligned words are set aside.
	a.q, a.s = dropRepeated(a.q, a.cq), dropRepeated(a.s, a.cs)
	return a, ""
}

// wordRules are the rules that read the alignment, in order, by the
// check that runs them.
var wordRules = []struct {
	check string
	rule  func(c *Checker, a alignment, q, s []token) string
}{
	{CheckOpposites, func(c *Checker, a alignment, _, _ []token) string { return c.opposite(a) }},
	{CheckDirection, func(c *Checker, _ alignment, q, s []token) string { return c.direction(q, s) }},
	{CheckDirection, func(_ *Checker, a alignment, q, s []token) string { return otherRelation(a, q, s) }},
	{CheckNames, func(c *Checker, a alignment, _, _ []token) string { return c.unmatchedName(a) }},
	{CheckSiblings, func(c *Checker, a alignment, _, _ []token) string { return c.siblings(a) }},
	{CheckUnits, func(c *Checker, a alignment, _, _ []token) string { return c.otherUnits(a) }},
	{CheckComparison, (*Checker).otherComparison},
	{CheckConjunct, func(_ *Checker, a alignment, q, s []token) string { return droppedConjunct(a, q, s) }},
	{CheckSwap, func(c *Checker, a alignment, _, _ []token) string { return c.swappedWord(a) }},
	{CheckSwap, func(_ *Checker, a alignment, _, _ []token) string { return swappedPhrase(a) }},
	{CheckGeneric, (*Checker).forGenericWord},
	{CheckModifier, func(_ *Checker, a alignment, q, s []token) string { return addedModifier(a, q, s) }},
	{CheckModifier, func(_ *Checker, a alignment, q, s []token) string { return addedObject(a, q, s) }},
	{CheckRoles, (*Checker).tradedPlaces},
}

// unmatchedName: a name unaligned, or a word the lexicon does not know
// unaligned while the other window has a word unaligned too, which it may
// stand for ("basmati" rice against "brown" rice). An unknown word only
// one window adds, with nothing swapped ("bruh", a typo, a brand the other
// leaves out), is judged as any added word is: by the rules that read
// where it stands, the tiers and the score.
func (c *Checker) unmatchedName(a alignment) string {
	swapped := len(a.q) > 0 && len(a.s) > 0
	for _, t := range append(append([]token(nil), a.q...), a.s...) {
		if t.entity || swapped && c.Lexicon != nil && !c.Lexicon.Known(t.text) {
			return fmt.Sprintf("the name %q has no counterpart", t.text)
		}
	}
	return ""
}

// siblings: an unaligned word of each side, two things of one kind.
func (c *Checker) siblings(a alignment) string {
	if c.Lexicon == nil {
		return ""
	}
	for _, x := range a.q {
		for _, y := range a.s {
			if c.Lexicon.Relate(x.text, y.text) == Sibling {
				return fmt.Sprintf("%q and %q are different things of one kind", x.text, y.text)
			}
		}
	}
	return ""
}

// swappedWord: one content word of each side unaligned, neither a kind
// of the other. A reworded request often says its action or thing more or
// less exactly ("generate" is a way to "create", "insert" to "add", a
// "novel" a kind of "book"); where one word stands in the other's place,
// between the same words, swappedPhrase still turns it away ("freezer"
// where "fridge" stood).
func (c *Checker) swappedWord(a alignment) string {
	if len(a.q) != 1 || len(a.s) != 1 {
		return ""
	}
	if c.Lexicon != nil && c.Lexicon.Relate(a.q[0].text, a.s[0].text) == Kind {
		return ""
	}
	return fmt.Sprintf("%q was swapped for %q", a.s[0].text, a.q[0].text)
}

// describe lists the unaligned words: + the query's, - the stored window's.
func describe(a alignment) string {
	if len(a.q)+len(a.s) == 0 {
		return "every content word aligns"
	}
	var words []string
	for _, t := range a.q {
		words = append(words, "+"+t.text)
	}
	for _, t := range a.s {
		words = append(words, "-"+t.text)
	}
	return fmt.Sprintf("%d of %d content words unaligned (%s)", len(a.q)+len(a.s), a.content, strings.Join(words, " "))
}
