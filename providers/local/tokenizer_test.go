package local

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tinyVocab has the reserved entries, a null score and a duplicate piece
// (the later entry wins, as in the reference).
const tinyVocab = `[["\ufffd",0],["<s>",0],["</s>",0],["e1",0],["e2",0],["e3",0],
["\u2581",-2],["\u2581a",-1],["b",-3],["\u2581ab",-1.5],["ab",-5],[":",null],["c",-4],["\u2581ab",-0.5]]`

func tinyTokenizer(tb testing.TB) *tokenizer {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(tinyVocab), 0o644); err != nil {
		tb.Fatal(err)
	}
	tok, err := loadTokenizer(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestEncode(t *testing.T) {
	tok := tinyTokenizer(t)
	for _, tc := range []struct {
		text string
		want []int
	}{
		{"", nil},
		{"ab", []int{13}},           // the duplicate "▁ab" (-0.5) beats "▁a"+"b"
		{"a b", []int{7, 6, 8}},     // spaces become "▁"
		{"x", []int{6, 0}},          // an unknown symbol is id 0
		{"xyz", []int{6, 0}},        // and a run of them collapses
		{"x:y", []int{6, 0, 11, 0}}, // a null score counts as 0
		{"ＡＢ", []int{6, 0}},         // NFKC first: full-width letters become "AB"
		{"abc", []int{13, 12}},
	} {
		if got := tok.encode(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("encode(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestLoadTokenizerErrors(t *testing.T) {
	for name, vocab := range map[string]string{
		"not json":  `{`,
		"too short": `[["a",0]]`,
		"no piece":  `[["\ufffd",0],["<s>",0],["</s>",0],["e1",0],["e2",0],["e3",0],[null,0]]`,
		"bad score": `[["\ufffd",0],["<s>",0],["</s>",0],["e1",0],["e2",0],["e3",0],["a","x"]]`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(vocab), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadTokenizer(dir); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func FuzzEncode(f *testing.F) {
	tok := tinyTokenizer(f)
	for _, s := range []string{"ab", "a b", "x:y", "\t\n", "ＡＢ", "🍕 ab", "\xff\xfe", "abababab c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.encode(text)
		if !slices.Equal(ids, tok.encode(text)) {
			t.Fatal("not deterministic")
		}
		for k, id := range ids {
			if id < 0 || id >= len(tok.unitLen) || (id > 0 && id < reservedPieces) {
				t.Fatalf("id %d out of the vocabulary", id)
			}
			if k > 0 && id == 0 && ids[k-1] == 0 {
				t.Fatal("unknown pieces not collapsed")
			}
		}
		if text != "" && len(ids) == 0 {
			t.Fatal("non-empty text gave no tokens")
		}
	})
}
