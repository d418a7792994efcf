// The small words the verifier knows by heart: number words, stopwords,
// function words, negators, the opposites WordNet lacks and the negative
// prefixes.

package semantic

import "strings"

// numberWords are the number words that only ever mean a number. "one" is
// left out: it is as often a pronoun ("which one").
var numberWords = map[string]string{
	"zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
	"eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "dozen": "12",
	"thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
	"eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
	"fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
	"hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
	"second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th", "sixth": "6th",
	"seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th", "1st": "1st",
	"half": "0.5", "quarter": "0.25", "twice": "x2", "double": "x2", "triple": "x3",
	"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9",
}

// stopwords carry no content of their own ("explain" does: it names a
// task, as "prove" and "summarize" do). Words that do change an answer
// although they are short (not, no, to, from, with, without, before,
// after, more, less, first, last, …) are deliberately absent.
var stopwords = setOf(`a an the this that these those it its it's they them their there here
i me my mine you your yours we us our he him his she her hers one ones someone something
is am are was were be been being do does did doing done have has had having get gets got
can could would should will shall may might must
what which who whom whose when where why how whats
and or but so if then than also just really very quite please pls thanks thank hi hey hello
of at by for on in about as into onto like such any some all each every
tell give show let me know want wanna need help quick question q
i'm im ok okay kind sort way ways thing things stuff anyway actually basically
whether because during while since until though although vs via versus
many much lot lots u ur
get gets got getting go goes going went keep keeps kept stay stays use uses used using
take takes taking took make makes making made put puts find
itself themselves himself herself myself yourself yourselves ourselves
everyone anyone everybody anybody somebody everything anything
whatever whichever whoever whenever wherever however
unless whereas thus hence therefore moreover furthermore indeed yet etc
lol btw ugh um uh hmm oh ah wow omg yo wtf tbh imo fyi plz thx gonna gotta`)

// unmarkedNegations are negative contractions typed without their
// apostrophe, as chat often is ("why dont my cookies spread"): each is
// read as its contraction, a negation. "cant" and "wont" are words too
// (hypocritical talk, a habit), far rarer in a request than the
// contractions.
var unmarkedNegations = map[string]string{
	"dont": "do", "doesnt": "does", "didnt": "did", "isnt": "is", "arent": "are", "wasnt": "was",
	"werent": "were", "havent": "have", "hasnt": "has", "hadnt": "had", "cant": "ca", "couldnt": "could",
	"wont": "wo", "wouldnt": "would", "shouldnt": "should", "mustnt": "must", "aint": "is",
}

// functionWords carry meaning by position, not content: the opposite and
// direction rules read them ("to" against "from"); alignment leaves them
// out, so "how much water per cup" aligns with "the water to cup ratio".
var functionWords = setOf(`to from into onto with without before after above below over under up down
in out on off more less most least per than via both either now then again still already
among amongst between toward towards upon across along around through throughout beside besides within despite`)

// negators flip the meaning of what they touch: a negation on one side
// only, bearing on words both windows share, rejects a pair
// (oneSidedNegation).
var negators = setOf(`not no never none nothing nobody neither nor cannot without`)

// opposites are pairs WordNet does not hold as antonyms (or holds only for
// senses that rarely matter), mostly small words whose swap reverses a
// request.
var opposites = pairsOf(`to:from into:from before:after above:below over:under up:down in:out
on:off with:without more:less most:least max:min maximum:minimum higher:lower high:low
ascending:descending asc:desc increase:decrease plus:minus add:remove add:subtract
import:export upload:download push:pull enable:disable encrypt:decrypt encode:decode
compress:decompress buy:sell borrow:lend lend:borrow send:receive input:output left:right
north:south east:west earlier:later early:late yesterday:tomorrow today:tomorrow today:yesterday
start:stop start:end begin:end first:last next:previous next:last inside:outside front:back
true:false yes:no pros:cons advantages:disadvantages benefits:risks win:lose won:lost
cheap:expensive cheaper:expensive fast:slow faster:slower big:small bigger:smaller larger:smaller
long:short longer:shorter heavy:light old:new older:newer young:old hot:cold warm:cool
safe:dangerous safe:unsafe good:bad better:worse best:worst love:hate like:dislike
boil:freeze heat:cool raise:lower rise:fall gain:lose gain:loss profit:loss credit:debit
deposit:withdraw asset:liability male:female men:women man:woman boy:girl husband:wife
son:daughter father:mother brother:sister uncle:aunt king:queen day:night morning:evening
summer:winter spring:autumn spring:fall sunrise:sunset arrive:depart arrival:departure
import:export inbound:outbound incoming:outgoing uppercase:lowercase upper:lower
join:split merge:split connect:disconnect mount:unmount lock:unlock zip:unzip pack:unpack
follow:unfollow subscribe:unsubscribe block:unblock like:unlike keep:discard keep:delete keep:lose`)

func setOf(words string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(words) {
		out[w] = true
	}
	return out
}

func pairsOf(pairs string) map[[2]string]bool {
	out := map[[2]string]bool{}
	for _, p := range strings.Fields(pairs) {
		a, b, _ := strings.Cut(p, ":")
		out[[2]string{a, b}] = true
		out[[2]string{b, a}] = true
	}
	return out
}

// negativePrefixes turn a word into its opposite ("install" →
// "uninstall", "able" → "unable", "agree" → "disagree").
var negativePrefixes = []string{"un", "dis", "de", "in", "im", "il", "ir", "non", "anti", "mis"}

// prefixOpposite reports whether one word is the other with a negative
// prefix.
func prefixOpposite(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	for _, p := range negativePrefixes {
		if rest, ok := strings.CutPrefix(b, p); ok && len(a) >= 3 && (rest == a || strings.TrimPrefix(rest, "-") == a) {
			return true
		}
	}
	return false
}
