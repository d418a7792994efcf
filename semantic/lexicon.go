package semantic

// Relation is how the meanings of two words relate.
type Relation int

// The relations a Lexicon tells apart.
const (
	Unrelated Relation = iota
	// Same: synonyms, or forms of one word ("book"/"reserve",
	// "convert"/"conversion").
	Same
	// Opposite: antonyms ("first"/"last", "increase"/"decrease").
	Opposite
	// Sibling: different things of the same kind ("Paris"/"Lyon",
	// "ibuprofen"/"paracetamol"): a question about one is not about the
	// other.
	Sibling
	// Kind: one is directly a kind of the other ("access" is a way to
	// "find", "poodle" a kind of "dog").
	Kind
)

// Lexicon knows words: the verifier asks it whether two words mean the
// same, the opposite, or another thing of the same kind. Words are lower
// case, in any inflected form.
type Lexicon interface {
	Known(word string) bool
	Relate(a, b string) Relation
	// OtherUnits reports whether a and b both name units of measure and
	// no unit is named by both ("minutes" and "hours", "grams" and
	// "ounces"; not "hr" and "hour"). A lexicon may hold two units as
	// synonyms in some other sense (an hour or a minute away is a
	// distance); an amount in one is never an amount in the other.
	OtherUnits(a, b string) bool
	// Compared reports whether word is the comparative or superlative of
	// an adjective ("bigger", "cheapest"), and not a word of its own.
	Compared(word string) bool
}
