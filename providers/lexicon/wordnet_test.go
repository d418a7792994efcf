package lexicon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semproc/semproc/providers/local"
	"github.com/semproc/semproc/semantic"
)

func TestRelateOnHandMadeData(t *testing.T) {
	w, err := LoadWordNet("testdata/dict")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a, b string
		want semantic.Relation
	}{
		{"paris", "lyon", semantic.Sibling},         // two instances of city
		{"paris", "city", semantic.Unrelated},       // an instance and its kind
		{"booking", "reserve", semantic.Same},       // morphy + a shared synset
		{"converted", "conversion", semantic.Same},  // a derivation
		{"safely", "safe", semantic.Same},           // a pertainym
		{"first", "last", semantic.Opposite},        // an antonym
		{"foremost", "last", semantic.Opposite},     // through the satellite's head
		{"foremost", "first", semantic.Unrelated},   // a head is not a synonym
		{"refrigerator", "icebox", semantic.Same},   // one synset
		{"cities", "city", semantic.Same},           // morphy
		{"unknownword", "city", semantic.Unrelated}, // not in WordNet
		{"city_of_light", "paris", semantic.Same},   // a multi-word lemma
		{"formatted", "arrange", semantic.Same},     // a doubled consonant
		{"formatting", "format", semantic.Same},     // a doubled consonant
		{"supplied", "supply", semantic.Same},       // -ied for -y
		{"departed", "departure", semantic.Same},    // a derivation links two words…
		{"start", "departure", semantic.Unrelated},  // … not their synsets' other words
		{"depart", "leaving", semantic.Unrelated},
		{"start", "depart", semantic.Same},   // one synset
		{"far", "distance", semantic.Same},   // an attribute
		{"near", "distance", semantic.Same},  // of both values…
		{"far", "near", semantic.Opposite},   // … which stay opposites
		{"access", "find", semantic.Kind},    // a direct hypernym
		{"find", "access", semantic.Kind},    // either way round
		{"minutes", "hours", semantic.Same},  // one synset: a distance
		{"children", "child", semantic.Same}, // the noun exception list
		{"axes", "axis", semantic.Same},
		{"axes", "axe", semantic.Unrelated}, // listed: the suffix rules give no other noun
		{"taught", "teach", semantic.Same},  // the verb exception list
		{"ate", "eaten", semantic.Same},
		{"better", "good", semantic.Same},      // the adjective exception list…
		{"best", "well", semantic.Same},        // … and the adverb one
		{"better", "worse", semantic.Opposite}, // through their lemmas' antonyms
		{"number", "numb", semantic.Unrelated}, // listed as a form of itself: no rule applies
	} {
		if got := w.Relate(tc.a, tc.b); got != tc.want {
			t.Errorf("Relate(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	for word, want := range map[string]bool{"cities": true, "children": true, "unknownword": false} {
		if got := w.Known(word); got != want {
			t.Errorf("Known(%q) = %v, want %v", word, got, want)
		}
	}
	checkUnitsAndComparatives(t, w, []wordCase{
		{"minutes", "hours", true}, // units of time, whatever sense they share
		{"grams", "ounces", true},  // through a kind of unit
		{"hr", "hour", false},      // one unit
		{"minute", "distance", false},
		{"unit", "gram", false}, // the root is no unit
		{"unknownword", "gram", false},
	}, []wordCase{
		{"biggest", "", true}, // a doubled consonant
		{"bigger", "", true},
		{"big", "", false},
		{"number", "", false}, // a word of its own, not "numb" + "er"
		{"finder", "", false}, // "find" is no adjective
		{"better", "", true},  // listed, though a lemma of its own
		{"worse", "", true},
		{"good", "", false},
		{"best", "", true},
	})
}

type wordCase struct {
	a, b string
	want bool
}

// checkUnitsAndComparatives checks OtherUnits on pairs and Compared on
// single words (a).
func checkUnitsAndComparatives(t *testing.T, w *WordNet, units, compared []wordCase) {
	t.Helper()
	for _, tc := range units {
		if got := w.OtherUnits(tc.a, tc.b); got != tc.want {
			t.Errorf("OtherUnits(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	for _, tc := range compared {
		if got := w.Compared(tc.a); got != tc.want {
			t.Errorf("Compared(%q) = %v, want %v", tc.a, got, tc.want)
		}
	}
}

func TestLoadWordNetErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadWordNet(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty dir: %v, want not-exist", err)
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range Files {
		write(name, "")
	}
	if _, err := LoadWordNet(dir); err == nil || !strings.Contains(err.Error(), "no synsets") {
		t.Errorf("empty files: %v", err)
	}
	write("data.noun", "00000001 03 n 01 city 0 002 @ 00000002 n 0000\n")
	if _, err := LoadWordNet(dir); err == nil || !strings.Contains(err.Error(), "data.noun line 1") {
		t.Errorf("truncated line: %v, want the file and line", err)
	}
	// A directory pulled before the exception lists were: an error, so
	// that semproc starts without WordNet and says to pull it again.
	write("data.noun", "00000001 03 n 01 city 0 000 | a town\n")
	if _, err := LoadWordNet(dir); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "noun.exc") {
		t.Errorf("no exception lists: %v, want not-exist naming noun.exc", err)
	}
	for _, ex := range Exceptions {
		write(ex.name, "")
	}
	if _, err := LoadWordNet(dir); err != nil {
		t.Errorf("empty exception lists: %v", err)
	}
	write("noun.exc", "children child\nfeet\n")
	if _, err := LoadWordNet(dir); err == nil || !strings.Contains(err.Error(), "noun.exc line 2") {
		t.Errorf("a form without a lemma: %v, want the file and line", err)
	}
}

// The pulled WordNet 3.1 (make model) answers the relations the verifier
// relies on.
func TestRelateOnWordNet(t *testing.T) {
	w := pulledWordNet(t)
	for _, tc := range []struct {
		a, b string
		want semantic.Relation
	}{
		{"first", "last", semantic.Opposite},
		{"increase", "decrease", semantic.Opposite},
		{"teens", "teenager", semantic.Same},
		{"km", "kilometers", semantic.Same},
		{"paris", "london", semantic.Sibling},
		{"chicken", "turkey", semantic.Unrelated}, // common nouns: the swap rule's, not this one
		{"easiest", "easy", semantic.Same},
		{"largest", "deepest", semantic.Unrelated},
		{"referring", "refer", semantic.Same},
		{"biggest", "big", semantic.Same},
		{"carried", "carry", semantic.Same},
		{"starting", "leaving", semantic.Kind}, // not Same: a derivation of "start out", not of "start"; to start is a way to leave
		{"departure", "depart", semantic.Same},
		{"access", "find", semantic.Kind},
		{"kill", "find", semantic.Unrelated},
		{"children", "child", semantic.Same}, // irregular forms, from the exception lists
		{"feet", "foot", semantic.Same},
		{"better", "good", semantic.Same},
		{"better", "worse", semantic.Opposite},
	} {
		if got := w.Relate(tc.a, tc.b); got != tc.want {
			t.Errorf("Relate(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	checkUnitsAndComparatives(t, w, []wordCase{
		{"minutes", "hours", true},
		{"days", "hours", true},
		{"grams", "ounces", true},
		{"cm", "inches", true},
		{"pounds", "dollars", true},
		{"hr", "hour", false},
		{"km", "kilometers", false},
		{"minute", "moment", false}, // a moment is no unit
	}, []wordCase{
		{"biggest", "", true},
		{"cheapest", "", true},
		{"easiest", "", true},
		{"number", "", false},
		{"latest", "", false}, // a lemma of its own
		{"better", "", true},  // listed
		{"worst", "", true},
		{"number", "", false}, // listed as a form of itself
		{"good", "", false},
	})
}

// BenchmarkVerify is the verifier's cost for one candidate with WordNet:
// a paraphrase that aligns word by word, and a near-miss it rejects; the
// /score runs are the shipped verifier, where the fitted acceptance score
// may serve beyond the tiers.
func BenchmarkVerify(b *testing.B) {
	wn := pulledWordNet(b)
	c := &semantic.Checker{Lexicon: wn, Threshold: 0.3}
	scored := semantic.NewChecker(wn, 0.3)
	for _, pair := range []struct{ name, q, s string }{
		{"paraphrase", "how many tablespoons are in a quarter cup", "tablespoons in a quarter cup?"},
		{"near-miss", "how long does cooked rice keep in the freezer", "how long does cooked rice keep in the fridge"},
		{"long", "The Datasets library documentation offers guidance on utilizing and manipulating datasets, with tutorials and how-to guides.",
			"The Datasets documentation provides information on how to use and work with datasets in the Hugging Face library, including tutorials."},
	} {
		b.Run(pair.name, func(b *testing.B) {
			for b.Loop() {
				c.Verify(semantic.Pair{Query: pair.q, Stored: pair.s, Distance: 0.05})
			}
		})
		b.Run(pair.name+"/score", func(b *testing.B) {
			for b.Loop() {
				scored.Verify(semantic.Pair{Query: pair.q, Stored: pair.s, Distance: 0.05})
			}
		})
	}
}

// BenchmarkLoadWordNet is the start-up cost of the verifier's lexicon.
func BenchmarkLoadWordNet(b *testing.B) {
	dir := pulledWordNetDir(b)
	for b.Loop() {
		if _, err := LoadWordNet(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// pulledWordNetDir is where `make model` put WordNet; the test skips when it
// has not been pulled.
func pulledWordNetDir(tb testing.TB) string {
	tb.Helper()
	dir, err := local.DefaultWordNetDir()
	if err != nil {
		tb.Fatal(err)
	}
	if err := local.VerifyWordNet(dir); errors.Is(err, local.ErrWordNetMissing) {
		tb.Skipf("%v: run `make model` to fetch it", err)
	} else if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func pulledWordNet(tb testing.TB) *WordNet {
	tb.Helper()
	w, err := LoadWordNet(pulledWordNetDir(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return w
}
