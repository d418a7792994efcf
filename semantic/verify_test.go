package semantic

import (
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // text, with # for numbers and ! for names
	}{
		{"Don't boil it", []string{"do", "not", "boil", "it"}},
		{"it won’t fit, can't and shan't", []string{"it", "will", "not", "fit", "can", "not", "and", "shall", "not"}},
		{"forty-five days, forty five, twenty-one, sixty-ten, 40 five", []string{"#45", "days", "#45", "#21", "#60", "#10", "#40", "#5"}},
		{"budget < 100 USD, >= 5, x < 5", []string{"budget", "under", "#100", "!usd", "over", "#5", "x", "#<", "#5"}},
		// Arrows, prompts and hearts bound nothing.
		{"python 3.8 -> 3.12 => 4 >>> 2 love it <3", []string{"python", "#3.8", "#3.12", "#4", "#2", "love", "it", "#3"}},
		{"w/o sugar, w/ ice, W/O, w/out, `w/o`", []string{"without", "sugar", "with", "ice", "without", "w", "out", "!without"}},
		// Chat drops the apostrophe.
		{"why dont my cookies spread, cant fix it", []string{"why", "do", "not", "my", "cookies", "spread", "can", "not", "fix", "it"}},
		{"how to tell them apart, go to bed", []string{"how", "tell", "them", "apart", "go", "to", "bed"}},
		{"What's the capital of France?", []string{"what", "the", "capital", "of", "!france"}},
		{"Who wrote it? Paris knows.", []string{"who", "wrote", "it", "paris", "knows"}},
		{"convert 1,000 grams to a dozen cups", []string{"convert", "#1000", "grams", "to", "a", "#12", "cups"}},
		{"solve 2x - 3 = 11", []string{"solve", "#2", "x", "#-", "#3", "#=", "#11"}},
		{"x^2 * sin(x)", []string{"x", "#^", "#2", "#*", "sin", "x"}},
		{"git rebase - why? visa-free", []string{"git", "rebase", "why", "without", "visa"}},
		{"Sugar-Free gum, free - or not", []string{"without", "sugar", "gum", "free", "or", "not"}},
		{"r = 5cm, 15% of 200g, the 21st", []string{"r", "#=", "#5", "cm", "#15", "percent", "of", "#200", "g", "the", "!21st"}},
		{"use PyTorch or iOS", []string{"use", "!pytorch", "or", "!ios"}},
		{`difference between 'who' and "whom"`, []string{"difference", "between", "!who", "and", "!whom"}},
		// A plural's possessive opens no quote.
		{"the Hundred Years' War actually lasted", []string{"the", "#100", "!years", "!war", "actually", "lasted"}},
		{"my parents' 'rules'", []string{"my", "parents", "!rules"}},
		// Only the mark that opened quotes closes them.
		{`fix "Object is of type 'unknown'" in TypeScript`, []string{"fix", "!object", "!is", "!of", "!type", "!unknown", "in", "!typescript"}},
		{"say 'hi \"there\"' now", []string{"say", "!hi", "!there", "now"}},
		{"World War II", []string{"world", "!war", "#2"}},
		{"it's 03.50", []string{"it", "#3.5"}},
		{"1/4 cup, 3/8 in, 10/2, a 12x14 ft room", []string{"#0.25", "cup", "#0.375", "in", "#10", "#/", "#2", "a", "#12", "by", "#14", "ft", "room"}},
	} {
		var got []string
		for _, tok := range tokenize(tc.in) {
			s := tok.text
			switch {
			case tok.number:
				s = "#" + s
			case tok.entity:
				s = "!" + s
			}
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The checks that need no lexicon, on the near-misses they exist for and
// on paraphrases they must let through.
func TestCheckerWithoutLexicon(t *testing.T) {
	checkVerdicts(t, &Checker{Threshold: 0.3}, []verdictCase{
		{"what is 5 times 12", "what is 6 times 12", 0.01, false, "numbers differ"},
		{"what is five times twelve", "what is 5 times 12", 0.2, true, "aligns"},
		{"80 is 15% of what number", "what is 15% of 80", 0.05, false, "numbers differ: [15 80] vs [15 of 80]"},
		{"how much is 15 percent of 80", "what is 15% of 80", 0.05, true, "aligns"},
		{"how many tbsp in 1/4 cup", "how many tbsp in a quarter cup", 0.1, true, "aligns"},
		{"paint for a 12 by 14 room", "paint for a 12x14 room", 0.1, true, "aligns"},
		{"solve 2x - 3 = 11", "solve 2x + 3 = 11", 0.02, false, "numbers differ"},
		// A number's bound is part of it; a strict and an inclusive bound
		// are said for the same thing.
		{"regex that matches at least 5 digits", "regex that matches exactly 5 digits", 0.01, false, "numbers differ: [≥5] vs [5]"},
		{"flights under 200 dollars", "flights over 200 dollars", 0.01, false, "numbers differ: [≤200] vs [≥200]"},
		{"recipes with fewer than 6 ingredients", "recipes with under 6 ingredients", 0.05, true, "1 of 5 content words unaligned (+fewer)"},
		{"can kids over 12 fly alone", "can kids 12 and older fly alone", 0.05, true, "1 of 7 content words unaligned (-older)"},
		{"can I take ibuprofen with alcohol", "can I not take ibuprofen with alcohol", 0.02, false, `a negation on one side only: "not" before "ibuprofen"`},
		// A negation of words the other window lacks is a phrase said
		// another way, which the other rules and the tiers weigh.
		{"what is BATNA? i don't get it", "what is BATNA", 0.05, true, "every content word aligns"},
		// "Sugar-free" negates the words after it wherever it stands.
		{"Sugar-free brownie recipe", "brownie recipe", 0.05, false, `a negation on one side only: "without" before "brownie"`},
		{"a recipe for sugar-free brownies", "a recipe for brownies", 0.05, false, `a negation on one side only: "without" before "brownies"`},
		{"can i take ibuprofen without eating first", "can i take ibuprofen on an empty stomach", 0.1, false, `"eating first" stands where "empty stomach" does`},
		{"yo why dont my cookies spread", "why don't my cookies spread?", 0.05, true, "every content word aligns"},
		{"why dont my cookies spread", "why do my cookies spread", 0.02, false, "negation"},
		{"how do I install docker", "how do I uninstall docker", 0.03, false, `"install" and "uninstall" are opposites`},
		{"flights from paris to london", "flights to paris from london", 0.01, false, "reversed"},
		{"flights from paris", "flights to paris", 0.01, false, `"from" and "to" are opposites`},
		{"convert miles to kilometers", "convert kilometers to miles", 0.01, false, "reversed"},
		{"substitute baking soda for baking powder", "substitute baking powder for baking soda", 0.005, false, "reversed"},
		{"can i paint over wallpaper", "can i wallpaper over paint", 0.03, false, "reversed"},
		{"my doors are old: is it ok to repaint", "is it ok to repaint old doors", 0.1, true, "every content word aligns"}, // one object, named twice
		// The same words in another relation, in the same place; small
		// words in other places belong to a sentence built anew.
		{"can i exercise after a fever", "can i exercise with a fever", 0.01, false, `"after" against "with"`},
		{"does renters insurance cover theft of my car", "does renters insurance cover theft from my car", 0.008, false, `"of" against "from"`},
		{"affect or effect - how do I know which one to use?", "when do i use 'affect' vs 'effect'", 0.2, true, "every content word aligns"},
		{"what is the capital of France", "what is the capital of Spain", 0.02, false, "the name"},
		{"what's the difference between 'who' and 'whom'", "what's the difference between 'who' and 'that'", 0.04, false, "name"},
		{"how long do i boil an egg for a hard yolk", "how long do i boil an egg for a runny yolk", 0.01, false, "swapped"},
		{"What is the capital of France?", "what's the capital of france", 0.05, true, "every content word aligns"},
		{"whats the capitl of france", "What is the capital of France?", 0.1, true, "every content word aligns"},
		// Three letters: two of them swapped is a typo, one changed another word.
		{"why is the syk blue", "why is the sky blue", 0.1, true, "every content word aligns"},
		{"what does a cat eat", "what does a rat eat", 0.02, false, `"rat" was swapped for "cat"`},
		{"what is the capital of france today", "what is the capital of france", 0.05, true, "1 of"},
		{"what is the capital of france today", "what is the capital of france", 0.2, false, "at most 0.1200"},
		{"prove the triangle inequality", "explain the triangle inequality", 0.1, false, `"explain" was swapped for "prove"`},
		{"what is the capital of modern france today", "what is the capital of france", 0.05, false, "at most 0.0375"},
		{"quick question what is the capital of france", "capital of france", 0.35, false, "beyond the threshold"},
		{"where do I keep my spare keys", "how many spare keys do I keep", 0.02, false, "asks where, not how much"},
		{"how many days does bread keep", "how long does bread keep in days", 0.05, true, "1 of"},
		// The "to" of an infinitive is no direction.
		{"crow vs raven: how to tell them apart?", "how can i tell a crow from a raven", 0.1, true, "1 of 5 content words unaligned (+apart)"},
		{"how to get from london to paris", "how to get from paris to london", 0.01, false, "reversed"},
		// A window's repeat of a word that aligned adds nothing to what
		// differs; a repeat narrowed by a new word does, and the rules
		// read every repeat.
		{"tyre pressure for a road bike: which pressure for 25mm tyres", "tyre pressure for a 25mm road bike", 0.2, true, "every content word aligns"},
		{"how to hem jeans by hand and keep the original hem", "how to hem jeans by hand", 0.05, false, "(+original +hem), so the distance must be at most 0.0375"},
		// "How" before a verb asks for a manner, before an adverb for a
		// measure; after "come" for a reason; a word it cannot read leaves
		// the question open.
		{"how did Zeus punish Prometheus?", "why did Zeus punish Prometheus?", 0.04, false, "asks how, not why"},
		{"how come the sky is blue", "why is the sky blue", 0.05, true, "1 of 5 content words unaligned (+come)"},
		{"how frequently should I water a cactus", "how should I water a cactus", 0.05, false, "asks how much, not how"},
		{"how dose en passant work", "why does en passant work", 0.05, true, "every content word aligns"},
		{"how salty is the ocean", "why is the ocean salty", 0.1, false, "asks how much, not why"},
		{"when was the bridge built, and by whom?", "who built the bridge and when", 0.05, true, "every content word aligns"},
		{"what does it mean when my dog sighs", "why does my dog sigh", 0.05, true, "1 of"},
		// A phrase swapped for another in the same place, anywhere.
		{"should I pay off my student loan debt first", "should I pay off my credit card debt first", 0.01, false, `"student loan" stands where "credit card" does`},
		{"how long do guinea pigs live", "how long do hamsters live", 0.01, false, `"guinea pigs" stands where "hamsters" does`},
		{"bake bread at home", "bake bread in a wood oven", 0.01, false, `"home" stands where "wood oven" does`},
		// Words moved and reworded, not swapped in one place: many words.
		{"quick easy banana bread recipe", "recipe for banana bread, simple and fast", 0.03, true, "3 of 9"},
		{"quick easy banana bread recipe", "recipe for banana bread, simple and fast", 0.04, false, "at most 0.0375"},
		// Words added on one side only narrow the question.
		{"how to boil eggs in a microwave oven", "how to boil eggs", 0.05, false, "at most 0.0375"},
		// Words added to a long window: a small share of its words.
		{"simple recipe for sourdough bread with whole wheat flour, rye flour, water, salt and honey at home",
			"recipe for sourdough bread with whole wheat flour, rye flour, water, salt and honey", 0.08, true, "2 of 24"},
		{"simple recipe for sourdough bread with whole wheat flour, rye flour, water, salt and honey at home",
			"recipe for sourdough bread with whole wheat flour, rye flour, water, salt and honey", 0.12, false, "at most 0.1000"},
		{"how long can I stay in Japan visa-free", "how long can I stay in Japan without a visa", 0.1, true, "every content word aligns"},
		// One of two coordinated things dropped.
		{"how do I center a div horizontally and vertically", "how do I center a div horizontally", 0.01, false, `"horizontally" and "vertically" against one of them`},
		{"can I freeze milk", "can I freeze milk or cream", 0.01, false, `"milk" or "cream" against one of them`},
		{"git merge vs rebase", "git merge and git rebase", 0.05, true, "every content word aligns"}, // "git" said twice
		// Closed-class words and chat filler carry no content.
		{"how do I clean the oven itself", "how do I clean the oven", 0.2, true, "every content word aligns"},
		{"lol how do I fold a fitted sheet btw", "how do I fold a fitted sheet", 0.15, true, "every content word aligns"},
		{"latte or flat white, what is the difference", "what is the difference between a latte and a flat white", 0.2, true, "every content word aligns"},
		// A quoted word is there unquoted, as a small word.
		{"when do I use 'whom' instead of 'who'", "when do I use whom instead of who", 0.1, true, "every content word aligns"},
		// The same word pairs before a base form: "load" is left to "load".
		{"retrieve data with the `load` function", "loaded data with the `load` function", 0.01, false, `"loaded" was swapped for "retrieve"`},
	})
}

type verdictCase struct {
	query, stored string
	distance      float64
	accept        bool
	reason        string // a part of the verdict's reason
}

func checkVerdicts(t *testing.T, c *Checker, cases []verdictCase) {
	t.Helper()
	for _, tc := range cases {
		v := c.Verify(Pair{Query: tc.query, Stored: tc.stored, Distance: tc.distance})
		if v.Accept != tc.accept || !strings.Contains(v.Reason, tc.reason) {
			t.Errorf("Verify(%q, %q, %v) = %v %q; want %v, a reason with %q", tc.query, tc.stored, tc.distance, v.Accept, v.Reason, tc.accept, tc.reason)
		}
	}
}

// Checks that need a lexicon, with a small one written for the test.
func TestCheckerWithLexicon(t *testing.T) {
	lex := fakeLexicon{"dictionary": true, "check": true, "key": true, "python": true, "difference": true,
		"tablespoons": true, "teaspoons": true, "people": true, "database": true, "distance": true,
		"cat": true, "act": true, "load": true, "loads": true, "fetches": true,
		"fold": true, "bird": true, "base": true, "preliminary": true,
		"water": true, "ratio": true, "rice": true, "brown": true, "rainbows": true, "form": true}
	checkVerdicts(t, &Checker{Threshold: 0.3, Lexicon: lex}, []verdictCase{
		// A known word said twice, once right after an unaligned word,
		// names two things.
		{"how do I fold a bird base from a preliminary base", "how do I fold a preliminary base", 0.19, false, "(+bird +base), so the distance must be at most 0.0375"},
		// A word the lexicon does not know, clipped from the other's.
		{"check a key in a python dict", "check a key in a python dictionary", 0.05, true, "every content word aligns"},
		{"whats the diff", "what's the difference", 0.05, true, "every content word aligns"},
		// Two letters are no clipping, and a known word is none.
		{"check a key in a python di", "check a key in a python dictionary", 0.05, false, `the name "di"`},
		{"check a python key", "check a python keyring", 0.05, false, `the name "keyring"`},
		// One letter more is another word, not a clipping.
		{"a WWII service record", "a WWI service record", 0.01, false, `the name "wwii"`},
		// A contraction: the first letter, the first consonant after it,
		// then consonants, in order.
		{"how many tbsp in a cup", "how many tablespoons in a cup", 0.1, true, "every content word aligns"},
		{"how many tsp in a cup", "how many teaspoons in a cup", 0.1, true, "every content word aligns"},
		{"food for 30 ppl", "food for 30 people", 0.1, true, "every content word aligns"},
		{"how many tsp in a cup", "how many tablespoons in a cup", 0.01, false, `the name "tsp"`},
		{"set up a db", "set up a database", 0.05, false, `the name "db"`},     // two letters fit too many words
		{"is DST over", "is the distance over", 0.05, false, `the name "dst"`}, // an acronym: initials, no contraction
		// An unknown word may stand for the other's unaligned word; one
		// only added is weighed as any added word, a name never.
		{"water to rice ratio for basmati rice", "water to rice ratio for brown rice", 0.02, false, `the name "basmati"`},
		{"quick q bruh, how do rainbows form", "how do rainbows form", 0.05, true, "1 of 5 content words unaligned (+bruh)"},
		{"how do rainbows form in Spain", "how do rainbows form", 0.05, false, `the name "spain"`},
		// The rules read a window's repeats of its aligned words (without a
		// lexicon, "loads" would be a misspelling of "load").
		{"the `load_dataset` function fetches a dataset", "the `load_dataset` function loads a dataset", 0.02, false, `"loads" was swapped for "fetches"`},
		// Two known words are no typo of each other.
		{"what does a cat eat", "what does a act eat", 0.02, false, `"act" was swapped for "cat"`},
	})
}

// fakeLexicon knows its words, and relates none.
type fakeLexicon map[string]bool

func (l fakeLexicon) Known(w string) bool          { return l[w] }
func (fakeLexicon) Relate(string, string) Relation { return Unrelated }
func (fakeLexicon) OtherUnits(string, string) bool { return false }
func (fakeLexicon) Compared(string) bool           { return false }

// Each check can be left out (eval -without), and the tiers scale with
// the threshold.
func TestCheckerWithout(t *testing.T) {
	pairs := map[string][2]string{
		CheckNumbers:    {"what is 5 times 12", "what is 6 times 12"},
		CheckNegation:   {"is it safe", "is it not safe"},
		CheckQuestion:   {"where do I keep my keys", "how many keys do I keep"},
		CheckOpposites:  {"install docker", "uninstall docker"},
		CheckDirection:  {"convert miles to km", "convert km to miles"},
		CheckNames:      {"capital of France", "capital of Spain"},
		CheckConjunct:   {"center it horizontally", "center it horizontally and vertically"},
		CheckSwap:       {"boil an egg for a hard yolk", "boil an egg for a runny yolk"},
		CheckComparison: {"which phone has the best camera", "which phone has the most cameras"},
		CheckGeneric:    {"how do i kill the process", "how do i find which process"},
		CheckModifier:   {"my weighted gpa", "my gpa"},
		CheckRoles:      {"will it go up if i hit someone", "will it go up if someone hits me"},
	}
	for check, p := range pairs {
		strict := &Checker{Threshold: 0.3}
		if v := strict.Verify(Pair{Query: p[0], Stored: p[1], Distance: 0.001}); v.Accept {
			t.Errorf("%s: %q against %q accepted with every check", check, p[0], p[1])
		}
		loose := &Checker{Threshold: 0.3, Without: map[string]bool{}}
		for _, name := range Checks {
			loose.Without[name] = name == check || name == CheckSwap || name == CheckNames || name == CheckModifier
		}
		if v := loose.Verify(Pair{Query: p[0], Stored: p[1], Distance: 0.001}); !v.Accept {
			t.Errorf("%s: %q against %q rejected without the check: %s", check, p[0], p[1], v.Reason)
		}
	}
	tiers := &Checker{Threshold: 0.3, Without: map[string]bool{CheckTiers: true}}
	if v := tiers.Verify(Pair{Query: "what is the capital of france today", Stored: "what is the capital of france", Distance: 0.25}); !v.Accept {
		t.Errorf("without tiers a pair within the threshold is served: %s", v.Reason)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"capital", "capitl", 1, 1},
		{"frist", "first", 1, 1}, // a transposition
		{"install", "uninstall", 2, 2},
		{"abc", "xyz", 1, 2},
		{"short", "much longer", 2, 3},
	} {
		if got := EditDistance(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("EditDistance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
	}
}

func TestCheckerBoundsLongWindows(t *testing.T) {
	long := strings.Repeat("word ", maxVerifiedWords+1)
	if v := (&Checker{Threshold: 0.3}).Verify(Pair{Query: long, Stored: long + "x", Distance: 0.01}); v.Accept || !strings.Contains(v.Reason, "too long") {
		t.Errorf("Verify of %d words = %+v; want a rejection for length", maxVerifiedWords+1, v)
	}
}

// FuzzVerify: any pair of texts gets a verdict with a reason, the same one
// every time, and never a panic.
func FuzzVerify(f *testing.F) {
	for _, s := range [][2]string{
		{"convert 100 miles to km", "convert 100 km to miles"},
		{"don't 'quote' \"me\" 2x-3=11", "can't x^2 * sin(x) 1,000.50%"},
		{"\xff\xfe US vs UK – New York City", "nyc, u.s.a. ww2 5cm"},
		{"", " "},
	} {
		f.Add(s[0], s[1], 0.05, 0, false)
	}
	c := NewChecker(nil, 0.3)
	f.Fuzz(func(t *testing.T, q, s string, d float64, n int, nearerDiffers bool) {
		p := Pair{Query: q, Stored: s, Distance: d, Neighbours: n, NearerDiffers: nearerDiffers}
		v := c.Verify(p)
		if v.Reason == "" || v.Accept && v.Differs {
			t.Errorf("Verify(%+v) = %+v", p, v)
		}
		if again := c.Verify(p); again != v {
			t.Errorf("Verify(%+v) = %+v, then %+v", p, v, again)
		}
		// A rejected nearer candidate only ever takes answers away.
		if alone := p; nearerDiffers && v.Accept {
			alone.NearerDiffers = false
			if !c.Verify(alone).Accept {
				t.Errorf("Verify(%+v) accepted, but not without a rejected nearer candidate", p)
			}
		}
	})
}

func TestSpelledOut(t *testing.T) {
	for _, tc := range []struct {
		word, window string
		from, to     int
	}{
		{"huggingface", "use hugging face hub", 1, 3},
		{"us", "visa for the united states", 3, 5},
		{"nyc", "hotels in new york city", 2, 5},
		{"notebook", "my note book", 1, 3},
		{"note", "my note book", -1, -1},      // one word is no run
		{"notebookx", "my note book", -1, -1}, // the run would have to outgrow the word
		{"ab", "a b", 0, 2},
		{"abcde", "alpha bravo charlie delta echo", -1, -1}, // initials make only short words
	} {
		from, to := spelledOut(tc.word, tokenize(tc.window))
		if from != tc.from || to != tc.to {
			t.Errorf("spelledOut(%q, %q) = %d, %d; want %d, %d", tc.word, tc.window, from, to, tc.from, tc.to)
		}
	}
}

// tokenize reads no further than the verifier needs to tell a window too
// long.
func TestTokenizeStopsPastTheBound(t *testing.T) {
	for _, text := range []string{
		strings.Repeat("word ", 10*maxVerifiedWords),
		strings.Repeat("don't ", 10*maxVerifiedWords), // two tokens a word
		strings.Repeat("5cm ", 10*maxVerifiedWords),
	} {
		if n := len(tokenize(text)); n <= maxVerifiedWords || n > maxVerifiedWords+2 {
			t.Errorf("tokenize of %.10q… gave %d tokens; want %d or %d", text, n, maxVerifiedWords+1, maxVerifiedWords+2)
		}
	}
}

// wordLexicon is a small lexicon written for a test: the words it knows,
// the pairs it relates, its units of measure and its comparatives.
type wordLexicon struct {
	relations map[[2]string]Relation
	units     map[string]string // word -> the unit it names
	compared  map[string]bool
}

func (l wordLexicon) Known(string) bool { return true }

func (l wordLexicon) Relate(a, b string) Relation {
	if r, ok := l.relations[[2]string{a, b}]; ok {
		return r
	}
	return l.relations[[2]string{b, a}]
}

func (l wordLexicon) OtherUnits(a, b string) bool {
	ua, ub := l.units[a], l.units[b]
	return ua != "" && ub != "" && ua != ub
}

func (l wordLexicon) Compared(w string) bool { return l.compared[w] }

// Units of measure never align, whatever sense they share; the same unit
// written two ways does.
func TestCheckerUnits(t *testing.T) {
	lex := wordLexicon{
		relations: map[[2]string]Relation{{"minutes", "hours"}: Same, {"hrs", "hours"}: Same, {"ounces", "grams"}: Same},
		units:     map[string]string{"minutes": "minute", "hours": "hour", "hrs": "hour", "ounces": "ounce", "grams": "gram"},
	}
	checkVerdicts(t, &Checker{Threshold: 0.3, Lexicon: lex}, []verdictCase{
		{"crontab entry to run a script every 5 hours", "crontab entry to run a script every 5 minutes", 0.02, false, `"hours" and "minutes" are different units`},
		{"how many ounces of flour in a cup", "how many grams of flour in a cup", 0.02, false, `"ounces" and "grams" are different units`},
		{"crontab entry to run a script every 5 hrs", "crontab entry to run a script every 5 hours", 0.02, true, "every content word aligns"},
	})
	without := &Checker{Threshold: 0.3, Lexicon: lex, Without: map[string]bool{CheckUnits: true}}
	checkVerdicts(t, without, []verdictCase{
		{"crontab entry to run a script every 5 hours", "crontab entry to run a script every 5 minutes", 0.02, true, "every content word aligns"},
	})
}

// A comparison against one on another scale; the same comparison in
// other words stays.
func TestCheckerComparison(t *testing.T) {
	lex := wordLexicon{
		relations: map[[2]string]Relation{{"biggest", "largest"}: Same},
		compared:  map[string]bool{"biggest": true, "largest": true, "cheapest": true, "fastest": true},
	}
	checkVerdicts(t, &Checker{Threshold: 0.3, Lexicon: lex}, []verdictCase{
		{"which planet has the biggest moon", "which planet has the most moons", 0.03, false, `"biggest" and "most" compare on different scales`},
		{"the cheapest train to rome", "the fastest train to rome", 0.03, false, `"cheapest" and "fastest" compare on different scales`},
		{"which planet has the most moons", "which planet has the biggest moon", 0.03, false, `"biggest" and "most" compare on different scales`},
		{"which planet has the largest moon", "which planet has the biggest moon", 0.03, true, "every content word aligns"},
		// "number" is no shared word: the largest number is the most.
		{"what planet has the largest number of moons", "which planet has the most moons", 0.03, true, "2 of"},
		{"which planet is biggest", "which planet is the most massive", 0.01, false, `"massive" was swapped for "biggest"`},
	})
	// Without a lexicon only the words that compare by themselves count.
	checkVerdicts(t, &Checker{Threshold: 0.3}, []verdictCase{
		{"which phone has the best camera", "which phone has the most cameras", 0.02, false, `"best" and "most" compare on different scales`},
		{"which phone has the best camera", "which phone has the best cameras", 0.02, true, "every content word aligns"},
	})
}

// A content word where the other window has a generic one it does not
// mean; a generic word it means, or one among moved words, stays.
func TestCheckerGeneric(t *testing.T) {
	lex := wordLexicon{relations: map[[2]string]Relation{{"access", "find"}: Kind, {"cook", "make"}: Same, {"baby", "someone"}: Kind}}
	checkVerdicts(t, &Checker{Threshold: 0.3, Lexicon: lex}, []verdictCase{
		{"how do i kill the process using port 8080 on linux", "how do i find which process is using port 8080 on linux", 0.05, false, `"kill" stands where "find" does`},
		{"is it rude to leave without saying goodbye to everyone", "is it rude to leave without saying goodbye to the host", 0.05, false, `"host" stands where "everyone" does`},
		{"how do i access the docs for the main version", "how do i find the docs for the main version", 0.05, true, "1 of"},
		// A pronoun or quantifier narrowed to a kind of thing or to one of
		// them asks about that one only.
		{"what should i do if a baby is choking", "what should i do if someone is choking", 0.05, false, `"baby" stands where "someone" does`},
		{"how do i change the font size of the first paragraph in css", "how do i change the font size of all paragraphs in css", 0.01, false, `"first" stands where "all" does`},
		{"how do i change the font size of each paragraph in css", "how do i change the font size of all paragraphs in css", 0.01, true, "every content word aligns"},
		{"how do i cook pancakes", "how do i make pancakes", 0.05, true, "1 of"},
		// A verb that takes a clause is no action on an object.
		{"at what age should a kitten be spayed", "when should i get my kitten spayed", 0.05, true, "1 of"},
		// Content words moved into the gap: the sentence was rebuilt.
		{"Datasets can be used to load zipped CSV files.", "Yes, zipped CSV files can be loaded using Datasets.", 0.05, true, "1 of"},
	})
}

// A word swapped for a kind of it is a rewording when the sentence was
// rebuilt around it, and a swap where it stands in the other's place.
func TestCheckerSwapForAKind(t *testing.T) {
	lex := wordLexicon{relations: map[[2]string]Relation{{"generate", "create"}: Kind, {"freezer", "fridge"}: Kind}}
	checkVerdicts(t, &Checker{Threshold: 0.3, Lexicon: lex}, []verdictCase{
		{"generate charts with this library", "with this library, create charts", 0.03, true, "2 of 6 content words unaligned (+generate -create)"},
		{"plot charts with this library", "with this library, create charts", 0.05, false, `"create" was swapped for "plot"`},
		{"how long does cooked rice keep in the freezer", "how long does cooked rice keep in the fridge", 0.03, false, `"freezer" stands where "fridge" does`},
	})
}

// A word added right before a shared one narrows it, in a short window.
func TestCheckerModifier(t *testing.T) {
	checkVerdicts(t, &Checker{Threshold: 0.3}, []verdictCase{
		{"how do i calculate my weighted gpa from letter grades", "how do i calculate my gpa from letter grades", 0.03, false, `"weighted" narrows "gpa"`},
		{"best phone camera settings for the milky way", "best camera settings for the milky way", 0.03, false, `"phone" narrows "camera"`},
		{"how many keys does a piano have", "how many black keys does a piano have", 0.03, false, `"black" narrows "keys"`},
		// A chat request of thirteen content words is still short.
		{"write a short invitation for a 40th birthday party", "write a short invitation for a surprise 40th birthday party", 0.03, false, `"surprise" narrows "40th"`},
		// Articles stand for one another.
		{"how do i calculate a weighted average in excel", "how do i calculate an average in excel", 0.05, false, `"weighted" narrows "average"`},
		// Not inserted into a shared sequence: the sentence is another.
		{"python loop throws IndexError - why?", "why am I getting IndexError in my python loop", 0.05, true, "1 of"},
		// A word said twice is no modifier.
		{"merge vs rebase in git", "git merge and git rebase", 0.05, true, "every content word aligns"},
		// A noun phrase added at the end, after a determiner or right
		// after its relation word, names the case asked about; an
		// infinitive or an amount there is the same request reworded.
		{"what should i pack in a moving day essentials box for a baby", "what should i pack in a moving day essentials box", 0.09, false, `"for" baby narrows the request`},
		{"how long does a tattoo take to heal for someone with diabetes", "how long does a tattoo take to heal", 0.09, false, `"with" diabetes narrows the request`},
		{"grass stains on my white jeans, how to remove them", "how do i get grass stains out of white jeans", 0.05, true, "1 of"},
		{"lightest tent for less than 300 dollars", "lightest tent under 300", 0.05, true, "1 of"},
		// A word added at the end modifies nothing.
		{"how many hours of sleep does a teenager need a night", "how many hours of sleep does a teenager need", 0.05, true, "1 of"},
		// A long statement restates more than it narrows.
		{"The MRPC dataset is trained with the BERT model and its corresponding tokenizer from the Transformers library.",
			"The MRPC dataset is trained with the BERT model and its tokenizer from the Transformers library.", 0.05, true, "1 of"},
	})
}

// Two persons, opposites or things of one kind trading places around
// words that keep theirs; words a rebuilt sentence moves, or two things
// listed, stay.
func TestCheckerRoles(t *testing.T) {
	lex := wordLexicon{relations: map[[2]string]Relation{{"slow", "fast"}: Opposite}}
	checkVerdicts(t, &Checker{Threshold: 0.3, Lexicon: lex}, []verdictCase{
		{"why is my wifi slow on my phone but fast on my laptop", "why is my wifi fast on my phone but slow on my laptop", 0.004, false, `"slow" and "fast" trade places`},
		{"does my car insurance go up if i hit someone else", "does my car insurance go up if someone else hits me", 0.05, false, `"i" and "someone" trade places`},
		{"how many calories do you burn swimming for an hour", "how many calories does an hour of swimming burn", 0.2, true, "every content word aligns"},
		{"difference between slow cooking and fast cooking", "difference between fast cooking and slow cooking", 0.01, true, "every content word aligns"},
	})
	without := &Checker{Threshold: 0.3, Lexicon: lex, Without: map[string]bool{CheckRoles: true}}
	checkVerdicts(t, without, []verdictCase{
		{"why is my wifi slow on my phone but fast on my laptop", "why is my wifi fast on my phone but slow on my laptop", 0.004, true, "every content word aligns"},
	})
}

func TestBlockSwap(t *testing.T) {
	for _, tc := range []struct {
		rank           []int
		ia, la, ib, lb int
		ok             bool
	}{
		{[]int{0, 3, 2, 1, 4}, 1, 1, 3, 1, true},
		{[]int{0, 1, 2, 6, 5, 3, 4}, 3, 1, 5, 2, true}, // "I" against "someone else"
		{[]int{0, 2, 1, 3}, 0, 0, 0, 0, false},         // neighbours, nothing between
		{[]int{0, 1, 2}, 0, 0, 0, 0, false},
		{[]int{2, 0, 1, 3}, 0, 0, 0, 0, false}, // a rotation
	} {
		ia, la, ib, lb, ok := blockSwap(tc.rank)
		if ok != tc.ok || ok && (ia != tc.ia || la != tc.la || ib != tc.ib || lb != tc.lb) {
			t.Errorf("blockSwap(%v) = %d %d %d %d %v; want %d %d %d %d %v", tc.rank, ia, la, ib, lb, ok, tc.ia, tc.la, tc.ib, tc.lb, tc.ok)
		}
	}
}

// A word written as a name pairs with itself written as a name first; the
// same word said plainly on one side only is a word left over, not a name.
func TestCheckerNamePairsWithName(t *testing.T) {
	checkVerdicts(t, &Checker{Threshold: 0.3, Lexicon: wordLexicon{}}, []verdictCase{
		// The name pairs with the name (else it would have no
		// counterpart), and "load" repeats its first word.
		{"`load_dataset()` on a csv file", "load a csv file by `load_dataset()`", 0.02, true, "every content word aligns"},
		{"`load_dataset()` on a csv file", "load a csv file by `read_csv()`", 0.02, false, "the name"},
	})
}
