package cli

import (
	"sort"
	"strings"
)

// maxSuggestions caps the "did you mean" list.
const maxSuggestions = 5

// suggest returns the paths of cmds that are close to words: the words
// compared with a path of as many words is within an edit distance of about
// a third of its length, or the first word is close to the path's first.
func suggest(cmds []Command, words []string) []string {
	type cand struct {
		path string
		d    int
	}
	var cs []cand
	for _, c := range cmds {
		pw := strings.Fields(c.Path)
		in := strings.Join(words[:min(len(pw), len(words))], " ")
		d := editDistance(in, c.Path)
		d1 := editDistance(words[0], pw[0])
		switch {
		case d <= max(2, len(c.Path)/3):
		case d1 <= max(1, len(pw[0])/3):
			d = len(c.Path) + d1 // after the whole-line matches
		default:
			continue
		}
		cs = append(cs, cand{c.Path, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs {
		if len(out) == maxSuggestions {
			break
		}
		out = append(out, c.path)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
