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
)

// Lexicon knows words: the verifier asks it whether two words mean the
// same, the opposite, or another thing of the same kind. Words are lower
// case, in any inflected form.
type Lexicon interface {
	Known(word string) bool
	Relate(a, b string) Relation
}
