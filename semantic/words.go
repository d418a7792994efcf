package semantic

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word or number of a window, lower-cased.
type token struct {
	text string
	// entity: capitalised inside a sentence, mixed case or with digits
	// ("Lyon", "PyTorch", "gpt4"): a name, whose change changes the answer.
	entity bool
	number bool
	// opens: the first word of a sentence.
	opens bool
	// at is the token's position in its window.
	at int
}

// tokenize splits text into words and numbers. Contractions are expanded
// where they carry a negation ("don't" → "do", "not") and dropped where
// they do not ("what's" → "what"); number words become digits, so "a dozen"
// and "12" compare equal. It stops past maxVerifiedWords tokens: the
// verifier rejects longer windows, and reading them whole would cost time
// in proportion to a hostile prompt's length.
func tokenize(text string) []token {
	var out []token
	start := true  // at the start of a sentence
	var quote rune // the mark that opened quotes: their words are named, not used
	for i := 0; i < len(text) && len(out) <= maxVerifiedWords; {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			switch {
			case r == '.' || r == '?' || r == '!' || r == '\n' || r == ':':
				start = true
			case r == '"' || r == '`' || r == '“' || r == '”' || r == '\'':
				quote = quoting(text, i, size, quote)
			case r == '%':
				out = append(out, token{text: "percent"})
			case r == '/' && len(out) > 0 && fraction(out[len(out)-1], text, i):
				// "1/4" is the number "a quarter" is.
				j := wordEnd(text, i+1)
				out[len(out)-1].text = properFraction(out[len(out)-1].text, text[i+1:j])
				i = j
				continue
			case strings.ContainsRune("+-*/=^<>", r) && operand(text[:i], false) && operand(text[i+size:], true):
				out = append(out, token{text: string(r), number: true})
			case strings.ContainsRune("<>≤≥", r) && bounded(text, i, size):
				// "budget < 100" is "under 100", not an inequality.
				out = append(out, token{text: boundWords[r], opens: start})
				start = false
			}
			i += size
			continue
		}
		j := wordEnd(text, i)
		n := len(out)
		if w, k, ok := chatShorthand(text, i); ok {
			out = append(out, token{text: w, opens: start, entity: quote != 0})
			i, start = k, false
			continue
		}
		if v, ok := compoundNumber(out, text, i, j); ok {
			// "forty-five" and "forty five" are one number, 45.
			out[n-1].text = v
			i = j
			continue
		}
		if privative(text, i, j) && n > 0 {
			// "visa-free" is "without a visa": the negation the other
			// window may spell out. It opens the sentence the word did.
			out = slices.Insert(out, n-1, token{text: "without", opens: out[n-1].opens})
			out[n].opens = false
			i = j
			continue
		}
		out = appendWord(out, text[i:j], start)
		if start && n < len(out) {
			out[n].opens = true
		}
		if quote != 0 {
			for k := n; k < len(out); k++ {
				out[k].entity = true
			}
		}
		i = j
		start = false
	}
	out = dropInfinitiveTo(out)
	for i := range out {
		out[i].at = i
	}
	return out
}

// dropInfinitiveTo drops the "to" of an infinitive, before a verb that is
// nothing else ("how to tell a crow from a raven", "the best way to get
// wine out of a carpet"). It marks a verb, not a direction: read as one
// it would oppose a "from" ("tell a crow from a raven") or make an object
// of what follows the verb.
func dropInfinitiveTo(ts []token) []token {
	out := ts[:0]
	for i, t := range ts {
		if t.text != "to" || t.entity || i+1 == len(ts) || !onlyVerbs[ts[i+1].text] {
			out = append(out, t)
		}
	}
	return out
}

// onlyVerbs are small verbs that are no noun or preposition: after "to",
// they make an infinitive.
var onlyVerbs = setOf(`be do get go make put take keep find tell give show let know help see say ask try`)

// boundWords are the words a comparison sign before a number stands for.
var boundWords = map[rune]string{'<': "under", '≤': "under", '>': "over", '≥': "over"}

// bounded: the comparison sign at text[i:i+size] bounds the number after
// it (spaces, a currency sign or a tilde between), and is no arrow ("3.8
// -> 3.12", "=> 5"), prompt (">>> 2 + 2") or heart ("love it <3").
func bounded(text string, i, size int) bool {
	before := strings.TrimRight(text[:i], " ")
	if before != "" && strings.ContainsRune("-=<>", rune(before[len(before)-1])) {
		return false
	}
	after := text[i+size:]
	if after != "" && strings.ContainsRune("<>", rune(after[0])) {
		return false
	}
	if text[i] == '<' && strings.HasPrefix(after, "3") {
		if next, _ := utf8.DecodeRuneInString(after[1:]); !wordRune(next) {
			return false
		}
	}
	after = strings.TrimLeft(after, " =$€£~")
	r, _ := utf8.DecodeRuneInString(after)
	return unicode.IsDigit(r)
}

// chatShorthand reads "w/o" (without) and "w/" (with) at text[i], a word
// of their own, and returns the word and where it ends.
func chatShorthand(text string, i int) (string, int, bool) {
	rest := text[i:]
	if len(rest) < 2 || rest[0]|0x20 != 'w' || rest[1] != '/' {
		return "", 0, false
	}
	word, end := "with", i+2
	if len(rest) > 2 && rest[2]|0x20 == 'o' {
		word, end = "without", i+3
	}
	if next, _ := utf8.DecodeRuneInString(text[end:]); wordRune(next) {
		return "", 0, false
	}
	return word, end, true
}

// compoundNumber: text[i:j] is a number word of one to nine joined, by a
// hyphen or a space, to a number word of the tens right before it
// ("forty-five", "forty five"); it returns their sum.
func compoundNumber(out []token, text string, i, j int) (string, bool) {
	if len(out) == 0 || !out[len(out)-1].number || !joined(text, i, "- ") {
		return "", false
	}
	tens, err := strconv.Atoi(out[len(out)-1].text)
	if err != nil || tens < 20 || tens > 90 || tens%10 != 0 {
		return "", false
	}
	unit := slices.Index(unitWords, strings.ToLower(text[i:j]))
	if unit < 0 {
		return "", false
	}
	return strconv.Itoa(tens + unit + 1), true
}

// unitWords are the number words of one to nine, in order ("one" is no
// number word alone: it is as often a pronoun).
var unitWords = []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// privative: text[i:j] is "free" hyphenated to the word before it
// ("sugar-free", "streak-free").
func privative(text string, i, j int) bool {
	return strings.EqualFold(text[i:j], "free") && joined(text, i, "-")
}

// joined: the word at text[i] follows one of seps, itself right after a
// letter ("sugar-free", "forty five").
func joined(text string, i int, seps string) bool {
	if i < 2 || !strings.ContainsRune(seps, rune(text[i-1])) {
		return false
	}
	prev, _ := utf8.DecodeLastRuneInString(text[:i-1])
	return unicode.IsLetter(prev)
}

// fraction: the slash at text[i] joins the number token before it to a
// number right after it, both whole, the first the smaller: a proper
// fraction ("1/4", "3/8"), not a division ("10/2") or a date.
func fraction(before token, text string, i int) bool {
	if !before.number || i == 0 || !unicode.IsDigit(rune(text[i-1])) || i+1 >= len(text) || !unicode.IsDigit(rune(text[i+1])) {
		return false
	}
	return properFraction(before.text, text[i+1:wordEnd(text, i+1)]) != ""
}

// properFraction is n/d as a decimal number token, or "" when n/d is no
// proper fraction of whole numbers.
func properFraction(n, d string) string {
	a, errA := strconv.Atoi(n)
	b, errB := strconv.Atoi(d)
	if errA != nil || errB != nil || a <= 0 || a >= b {
		return ""
	}
	return normalizeNumber(strconv.FormatFloat(float64(a)/float64(b), 'g', 6, 64))
}

// operand reports whether the text beside an operator sign is a number or a
// one-letter variable ("2x - 3", "x^2", "r = 5"), so that a dash between
// words ("visa-free", "git rebase - why") is no minus.
func operand(side string, after bool) bool {
	side = strings.TrimSpace(side)
	if side == "" {
		return false
	}
	var r rune
	var word string
	if after {
		r, _ = utf8.DecodeRuneInString(side)
		word = side[:wordEnd(side, 0)]
		if strings.HasPrefix(side[len(word):], "(") { // a function: sin(x)
			return true
		}
	} else {
		r, _ = utf8.DecodeLastRuneInString(side)
		i := strings.LastIndexFunc(side, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		word = side[i+1:]
	}
	return unicode.IsDigit(r) || r == '(' || r == ')' || len(word) == 1 || hasDigit(word)
}

// quoting is the mark that opened quotes after the quote mark at
// text[i:i+size], given the one open before it (0: none). Only the mark
// that opened quotes closes them ("Object is of type 'unknown'" is one
// quoted span); an apostrophe opens quotes before a word and after none
// ('who'), and closes them where no word follows; a plural's possessive ("the
// Hundred Years' War") does neither.
func quoting(text string, i, size int, open rune) rune {
	r, _ := utf8.DecodeRuneInString(text[i:])
	prev, _ := utf8.DecodeLastRuneInString(text[:i])
	next, _ := utf8.DecodeRuneInString(text[i+size:])
	switch {
	case r == '\'' && open == 0 && !wordRune(prev) && wordRune(next):
		return r
	case r == '\'' && open == r && !wordRune(next):
		return 0
	case r == '\'':
		return open
	case open == 0:
		return r
	case open == r || open == '“' && r == '”':
		return 0
	}
	return open
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// wordEnd finds the end of the word starting at i: letters and digits,
// with inner apostrophes (contractions) and, between digits, dots and
// commas (3.5, 1,000).
func wordEnd(text string, i int) int {
	j := i
	for j < len(text) {
		r, size := utf8.DecodeRuneInString(text[j:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			j += size
			continue
		}
		if j+size < len(text) {
			next, _ := utf8.DecodeRuneInString(text[j+size:])
			prev, _ := utf8.DecodeLastRuneInString(text[:j])
			if (r == '\'' || r == '’') && unicode.IsLetter(prev) && unicode.IsLetter(next) {
				j += size
				continue
			}
			if (r == '.' || r == ',') && unicode.IsDigit(prev) && unicode.IsDigit(next) {
				j += size
				continue
			}
		}
		break
	}
	return j
}

func appendWord(out []token, word string, sentenceStart bool) []token {
	lower := strings.ToLower(strings.ReplaceAll(word, "’", "'"))
	if base, ok := unmarkedNegations[lower]; ok {
		lower = base + "n't"
	}
	if base, ok := strings.CutSuffix(lower, "n't"); ok {
		if base == "" { // a lone "n't": only the negation
			return append(out, token{text: "not"})
		}
		// "won't", "can't" and "shan't" lose more than "n't".
		switch base {
		case "wo":
			base = "will"
		case "ca":
			base = "can"
		case "sha":
			base = "shall"
		}
		return append(out, token{text: base}, token{text: "not"})
	}
	if k := strings.IndexByte(lower, '\''); k > 0 {
		lower, word = lower[:k], word[:k]
	}
	if n, ok := numberWords[lower]; ok {
		return append(out, token{text: n, number: true})
	}
	if hasDigit(lower) {
		if w, h, ok := strings.Cut(lower, "x"); ok && isNumber(w) && isNumber(h) && w != "" && h != "" {
			// "12x14" is "12 by 14".
			return append(out, token{text: normalizeNumber(w), number: true}, token{text: "by"}, token{text: normalizeNumber(h), number: true})
		}
		if n, unit, ok := numberAndUnit(lower); ok {
			out = append(out, token{text: normalizeNumber(n), number: true})
			return appendWord(out, unit, false)
		}
		return append(out, token{text: normalizeNumber(lower), number: isNumber(lower), entity: !isNumber(lower)})
	}
	return append(out, token{text: lower, entity: isName(word, sentenceStart)})
}

// numberAndUnit splits "5cm", "200g" or "2x" into the number and the word
// after it; ordinals ("1st", "22nd") stay whole.
func numberAndUnit(s string) (number, unit string, ok bool) {
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' && r != ',' })
	if i <= 0 || strings.IndexFunc(s[i:], unicode.IsDigit) >= 0 {
		return "", "", false
	}
	switch s[i:] {
	case "st", "nd", "rd", "th":
		return "", "", false
	}
	return s[:i], s[i:], true
}

func hasDigit(s string) bool {
	return strings.IndexFunc(s, unicode.IsDigit) >= 0
}

func isNumber(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '.' && r != ',' {
			return false
		}
	}
	return true
}

// normalizeNumber makes "1,000", "1000" and "01000" one token; ordinals
// keep their suffix ("1st").
func normalizeNumber(s string) string {
	if !isNumber(s) {
		return s
	}
	s = strings.ReplaceAll(s, ",", "")
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if t := strings.TrimLeft(s, "0"); t != "" && t[0] != '.' {
		return t
	}
	return s
}

// isName: a capital inside a sentence ("in Lyon"), or capitals after the
// first letter anywhere ("PyTorch", "NATO"). "I" is no name.
func isName(word string, sentenceStart bool) bool {
	first, size := utf8.DecodeRuneInString(word)
	if word == "I" {
		return false
	}
	if strings.IndexFunc(word[size:], unicode.IsUpper) >= 0 {
		return true
	}
	return unicode.IsUpper(first) && !sentenceStart
}
