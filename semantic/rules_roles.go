// The roles rule: persons, opposites or things of one kind that trade
// places around words that keep theirs.

package semantic

import (
	"fmt"
	"slices"
)

// persons reads a personal pronoun as the person it names, subject and
// object alike ("I" and "me"); "someone" is a person too.
var persons = map[string]string{
	"i": "i", "me": "i", "we": "we", "us": "we", "he": "he", "him": "he",
	"they": "they", "them": "they", "you": "you", "someone": "someone", "somebody": "someone",
}

// tradedPlaces: every content word aligns, and two persons ("I" and
// "someone"), two opposites or two things of one kind trade places
// around others that keep theirs ("slow on my phone but fast on my
// laptop" against "fast on my phone but slow on my laptop", "if I hit
// someone" against "if someone hits me"): the same words say who does
// what to whom the other way round. Two things listed ("rebase vs
// merge", "Newark or JFK") trade places freely, and so do words a
// sentence built anew moves ("a system for managing packages", "a
// package management system").
func (c *Checker) tradedPlaces(a alignment, q, s []token) string {
	if len(a.q)+len(a.s) > 0 {
		return ""
	}
	type pair struct{ q, s int }
	var pairs []pair
	for qa, sa := range a.partner {
		pairs = append(pairs, pair{qa, sa})
	}
	// A person named once on each side pairs with itself.
	ps := personsOnce(s)
	for name, qa := range personsOnce(q) {
		if sa, ok := ps[name]; ok {
			pairs = append(pairs, pair{qa, sa})
		}
	}
	slices.SortFunc(pairs, func(x, y pair) int { return x.q - y.q })
	// rank[i] is where the query's i-th word stands among the stored
	// window's.
	rank := make([]int, len(pairs))
	for i, x := range pairs {
		for _, y := range pairs {
			if y.s < x.s {
				rank[i]++
			}
		}
	}
	ia, la, ib, lb, ok := blockSwap(rank)
	if !ok {
		return ""
	}
	x, y := pairs[ia], pairs[ib]
	if listed(q, pairs[ia+la-1].q, y.q) || listed(s, pairs[ib+lb-1].s, x.s) || !c.counterparts(q[x.q].text, q[y.q].text) {
		return ""
	}
	return fmt.Sprintf("%q and %q trade places", q[x.q].text, q[y.q].text)
}

// blockSwap finds in rank, a permutation of 0…n-1, two runs A and B
// that trade places around a run M that stays between them (A M B
// against B M A), the rest in place: A is rank[ia:ia+la], B
// rank[ib:ib+lb].
func blockSwap(rank []int) (ia, la, ib, lb int, ok bool) {
	i, j := 0, len(rank)-1
	for i < len(rank) && rank[i] == i {
		i++
	}
	for j >= 0 && rank[j] == j {
		j--
	}
	n := j - i + 1
	for la = 1; la < n-1; la++ {
		for lb = 1; la+lb < n; lb++ {
			if swapped(rank[i:j+1], i, la, lb) {
				return i, la, j - lb + 1, lb, true
			}
		}
	}
	return 0, 0, 0, 0, false
}

// swapped: span, which holds the ranks from base on, reads B M A for
// its first la ranks A, its last lb ranks B and the ranks M between.
func swapped(span []int, base, la, lb int) bool {
	n := len(span)
	for k, r := range span {
		var want int
		switch {
		case k < la: // A stands last
			want = base + n - la + k
		case k >= n-lb: // B stands first
			want = base + k - (n - lb)
		default: // M stays between
			want = base + lb + k - la
		}
		if r != want {
			return false
		}
	}
	return true
}

// personsOnce maps each person named once in ts to its position.
func personsOnce(ts []token) map[string]int {
	at, n := map[string]int{}, map[string]int{}
	for _, t := range ts {
		if p, ok := persons[t.text]; ok {
			at[p] = t.at
			n[p]++
		}
	}
	for p, k := range n {
		if k > 1 {
			delete(at, p)
		}
	}
	return at
}

// counterparts: two persons, two opposites or two things of one kind.
func (c *Checker) counterparts(x, y string) bool {
	if _, ok := persons[x]; ok {
		_, ok = persons[y]
		return ok
	}
	if opposites[[2]string{x, y}] || prefixOpposite(x, y) {
		return true
	}
	r := Unrelated
	if c.Lexicon != nil {
		r = c.Lexicon.Relate(x, y)
	}
	return r == Opposite || r == Sibling
}

// listers coordinate two things a question may name in either order.
var listers = setOf(`and or vs versus between plus nor`)

// listed: a word between ts[i] and ts[j] lists them.
func listed(ts []token, i, j int) bool {
	return slices.ContainsFunc(ts[i+1:j], func(t token) bool { return listers[t.text] })
}
