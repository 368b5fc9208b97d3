package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// walker reads typed values out of a yaml.Node tree and collects errors with
// positions. It is used by one Parse call only.
type walker struct {
	file string
	errs []error
}

func (w *walker) errorf(n *yaml.Node, format string, args ...any) {
	if len(w.errs) >= maxErrors {
		return
	}
	e := &Error{File: w.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	w.errs = append(w.errs, e)
}

// noAlias reports whether n is not an alias, complaining if it is. Aliases
// are refused so that a small file cannot expand into a huge config.
func (w *walker) noAlias(n *yaml.Node, what string) bool {
	if n.Kind == yaml.AliasNode {
		w.errorf(n, "%s: YAML aliases are not supported", what)
		return false
	}
	return true
}

// fields checks that n is a mapping whose keys are all in allowed and
// appear once, and returns the value node of each key present. Keys are
// listed in the error for an unknown key.
func (w *walker) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	if !w.noAlias(n, what) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, "%s: want a mapping (key: value), got %s", what, kindName(n))
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.errorf(k, "%s: keys must be plain words", what)
			continue
		}
		if !contains(allowed, k.Value) {
			sorted := append([]string(nil), allowed...)
			sort.Strings(sorted)
			w.errorf(k, "%s: unknown key %q (want one of %s)", what, k.Value, strings.Join(sorted, ", "))
			continue
		}
		if prev, ok := out[k.Value]; ok {
			w.errorf(k, "%s: key %q given twice (first at line %d)", what, k.Value, prev.Line)
			continue
		}
		out[k.Value] = v
	}
	return out
}

// require complains about each key of keys missing from m, at the mapping n.
func (w *walker) require(n *yaml.Node, m map[string]*yaml.Node, what string, keys ...string) {
	if m == nil {
		return
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			w.errorf(n, "%s: missing %q", what, k)
		}
	}
}

// str returns a scalar's text.
func (w *walker) str(n *yaml.Node, what string) (string, bool) {
	if !w.noAlias(n, what) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		w.errorf(n, "%s: want a single value, got %s", what, kindName(n))
		return "", false
	}
	if n.ShortTag() == "!!null" {
		w.errorf(n, "%s: value missing", what)
		return "", false
	}
	return n.Value, true
}

// integer returns a scalar integer in lo..hi.
func (w *walker) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if n.ShortTag() != "!!int" || err != nil {
		w.errorf(n, "%s: %q is not an integer", what, s)
		return 0, false
	}
	if v < int64(lo) || v > int64(hi) {
		w.errorf(n, "%s: %d is out of range %d..%d", what, v, lo, hi)
		return 0, false
	}
	return int(v), true
}

// seq returns a sequence's items; a single scalar counts as a one-item list
// when scalarOK.
func (w *walker) seq(n *yaml.Node, what string, scalarOK bool) []*yaml.Node {
	if !w.noAlias(n, what) {
		return nil
	}
	switch {
	case n.Kind == yaml.SequenceNode:
		return n.Content
	case scalarOK && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null":
		return []*yaml.Node{n}
	}
	w.errorf(n, "%s: want a list, got %s", what, kindName(n))
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
