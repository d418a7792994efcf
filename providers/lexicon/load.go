package lexicon

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// LoadWordNet reads the data files and the exception lists in dir.
func LoadWordNet(dir string) (*WordNet, error) {
	w := &WordNet{lemmas: make(map[string][]int32, 160_000)}
	type pending struct {
		idx  int32
		ptrs []pointer
	}
	var all []pending
	index := map[string]int32{} // "pos:offset" -> synset index
	for _, name := range Files {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("wordnet: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for line := 1; sc.Scan(); line++ {
			text := sc.Text()
			if text == "" || text[0] == ' ' { // the licence header
				continue
			}
			rec, err := parseLine(text)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("wordnet: %s line %d: %w", name, line, err)
			}
			idx := int32(len(w.synsets))
			w.synsets = append(w.synsets, synset{pos: rec.pos, words: rec.words})
			index[posKey(rec.pos, rec.offset)] = idx
			for _, word := range rec.words {
				if l := w.lemmas[word]; len(l) == 0 || l[len(l)-1] != idx {
					w.lemmas[word] = append(l, idx)
				}
			}
			all = append(all, pending{idx, rec.pointers})
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("wordnet: %s: %w", name, err)
		}
	}
	if len(w.synsets) == 0 {
		return nil, fmt.Errorf("wordnet: no synsets in %s", dir)
	}
	for _, p := range all {
		s := &w.synsets[p.idx]
		for _, ptr := range p.ptrs {
			target, ok := index[posKey(ptr.pos, ptr.offset)]
			if !ok {
				continue
			}
			switch ptr.symbol {
			case "@":
				s.hypernyms = append(s.hypernyms, target)
			case "@i":
				s.instanceOf = append(s.instanceOf, target)
			case "&":
				s.heads = append(s.heads, target)
			case "+", "\\", "=":
				s.same = append(s.same, link{target, ptr.source, ptr.target})
			case "!":
				s.antonyms = append(s.antonyms, target)
			}
		}
	}
	w.markUnits()
	exceptions, err := loadExceptions(dir)
	if err != nil {
		return nil, err
	}
	w.exceptions = exceptions
	return w, nil
}

// loadExceptions reads morphy's exception lists: each line an irregular
// form and the lemmas it is a form of ("feet foot", "children child",
// "better good well").
func loadExceptions(dir string) (map[string][]form, error) {
	out := make(map[string][]form, 6_000)
	for _, ex := range Exceptions {
		b, err := os.ReadFile(filepath.Join(dir, ex.name))
		if err != nil {
			return nil, fmt.Errorf("wordnet: %w", err)
		}
		for line, text := range strings.Split(string(b), "\n") {
			f := strings.Fields(strings.ToLower(text))
			if len(f) == 0 {
				continue
			}
			if len(f) < 2 {
				return nil, fmt.Errorf("wordnet: %s line %d: a form without a lemma", ex.name, line+1)
			}
			for _, lemma := range f[1:] {
				out[f[0]] = append(out[f[0]], form{lemma, ex.pos})
			}
		}
	}
	return out, nil
}

// unitRoots are the first lemmas of the synsets units of measure descend
// from: WordNet puts units of time beside the others, not under them.
var unitRoots = []string{"unit_of_measurement", "time_unit"}

// markUnits marks the synsets whose hypernyms lead to a unit root.
func (w *WordNet) markUnits() {
	const (
		unknown = iota
		visiting
		no
		yes
	)
	state := make([]uint8, len(w.synsets))
	var isUnit func(s int32) bool
	isUnit = func(s int32) bool {
		switch state[s] {
		case yes:
			return true
		case no, visiting: // a cycle would be a broken file: no unit through it
			return false
		}
		state[s] = visiting
		found := isUnitRoot(w.synsets[s])
		for _, h := range w.synsets[s].hypernyms {
			found = found || isUnit(h)
		}
		state[s] = no
		if found {
			state[s] = yes
		}
		return found
	}
	for s := range w.synsets {
		w.synsets[s].unit = isUnit(int32(s)) && !isUnitRoot(w.synsets[s])
	}
}

func isUnitRoot(s synset) bool {
	return s.pos == 'n' && len(s.words) > 0 && slices.Contains(unitRoots, s.words[0])
}

func posKey(pos byte, offset string) string {
	if pos == 's' {
		pos = 'a'
	}
	return string(pos) + ":" + offset
}

type record struct {
	offset   string
	pos      byte
	words    []string
	pointers []pointer
}

type pointer struct {
	symbol, offset string
	pos            byte
	// source and target are the words a lexical pointer links (1-based),
	// 0 for a pointer between whole synsets.
	source, target uint8
}

// parseLine reads one data-file line: offset, lexicographer file, type,
// hex word count, words with lex ids, pointer count, pointers, [frames], gloss.
func parseLine(line string) (record, error) {
	if i := strings.Index(line, " | "); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) < 4 || len(f[2]) != 1 {
		return record{}, fmt.Errorf("short synset line")
	}
	r := record{offset: f[0], pos: f[2][0]}
	if r.pos == 's' {
		r.pos = 'a'
	}
	n, err := strconv.ParseUint(f[3], 16, 16)
	if err != nil {
		return record{}, fmt.Errorf("word count %q: %w", f[3], err)
	}
	i := 4
	for range n {
		if i+1 >= len(f) {
			return record{}, fmt.Errorf("line ends inside the words")
		}
		word := strings.ToLower(f[i])
		if p := strings.IndexByte(word, '('); p > 0 { // adjective markers: (a), (p), (ip)
			word = word[:p]
		}
		r.words = append(r.words, word)
		i += 2
	}
	if i >= len(f) {
		return record{}, fmt.Errorf("no pointer count")
	}
	p, err := strconv.Atoi(f[i])
	if err != nil {
		return record{}, fmt.Errorf("pointer count %q: %w", f[i], err)
	}
	i++
	for range p {
		if i+3 >= len(f) || len(f[i+2]) != 1 {
			return record{}, fmt.Errorf("line ends inside the pointers")
		}
		st, err := strconv.ParseUint(f[i+3], 16, 16)
		if err != nil || len(f[i+3]) != 4 {
			return record{}, fmt.Errorf("pointer source/target %q", f[i+3])
		}
		r.pointers = append(r.pointers, pointer{symbol: f[i], offset: f[i+1], pos: f[i+2][0], source: uint8(st >> 8), target: uint8(st)})
		i += 4
	}
	return r, nil
}
