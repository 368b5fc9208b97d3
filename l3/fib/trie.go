package fib

import "net/netip"

// node is one 256-slot level of the 8-8-8-8 trie. Level d (0..3) holds the
// prefixes of length 8d+1 .. 8d+8, expanded: a prefix of length 8d+r covers
// 1<<(8-r) consecutive slots.
//
// A node reachable from a published View is never written again. A node
// whose gen equals the writer's current generation was created since the
// last publication and may be changed in place (batched inserts).
type node struct {
	// kid holds the children, nil when the node has none. Shared between
	// copies of the node until one of them changes a child.
	kid *[256]*node
	// ent[s] is the result for slot s (0: none, keep the shorter match).
	ent [256]uint32
	// plen[s] is the length of the prefix that wrote ent[s], relative to
	// the level: 1..8, 0 when none.
	plen   [256]uint8
	gen    uint32
	kidGen uint32 // the generation kid was created in
	nkid   uint16 // non-nil entries of kid
}

// trie is the writer's handle on the lookup structure. Readers use root and
// def through a View.
type trie struct {
	root *node
	def  uint32 // result of 0.0.0.0/0, 0 when none
	gen  uint32 // current (unpublished) generation, > every published one
	// nodes and kids count the nodes and child arrays of the current trie
	// (a node or array goes as soon as it holds nothing).
	nodes, kids int
}

func newTrie() trie { return trie{root: &node{gen: 1}, gen: 1, nodes: 1} }

// seal starts a new generation: every existing node becomes immutable. The
// writer calls it when it publishes a View.
func (t *trie) seal() { t.gen++ }

// own returns n if it belongs to the current generation, otherwise a copy
// (or a new node when n is nil) that does.
func (t *trie) own(n *node) *node {
	if n == nil {
		t.nodes++
		return &node{gen: t.gen}
	}
	if n.gen == t.gen {
		return n
	}
	c := *n
	c.gen = t.gen
	return &c
}

// setKid sets child i of n, which the current generation owns.
func (t *trie) setKid(n *node, i byte, k *node) {
	if n.kid == nil {
		if k == nil {
			return
		}
		n.kid = new([256]*node)
		n.kidGen = t.gen
		t.kids++
	} else if n.kidGen != t.gen {
		c := *n.kid
		n.kid = &c
		n.kidGen = t.gen
	}
	switch old := n.kid[i]; {
	case old == nil && k != nil:
		n.nkid++
	case old != nil && k == nil:
		n.nkid--
	}
	n.kid[i] = k
	if n.nkid == 0 { // no child left: drop the array
		n.kid = nil
		t.kids--
	}
}

func addr32(p netip.Prefix) uint32 {
	a := p.Addr().As4()
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// insert sets the result of the IPv4 prefix p (masked) to val (non-zero).
func (t *trie) insert(p netip.Prefix, val uint32) {
	if p.Bits() == 0 {
		t.def = val
		return
	}
	t.root = t.insertAt(t.root, addr32(p), p.Bits(), 0, val)
}

func (t *trie) insertAt(n *node, a uint32, bits, d int, val uint32) *node {
	m := t.own(n)
	i := byte(a >> (24 - 8*d))
	if bits <= 8*(d+1) {
		r := uint8(bits - 8*d)
		lo := int(i) &^ (1<<(8-r) - 1)
		for s := lo; s < lo+1<<(8-r); s++ {
			if m.plen[s] <= r {
				m.ent[s], m.plen[s] = val, r
			}
		}
		return m
	}
	var k *node
	if m.kid != nil {
		k = m.kid[i]
	}
	if nk := t.insertAt(k, a, bits, d+1, val); nk != k {
		t.setKid(m, i, nk)
	}
	return m
}

// remove clears the IPv4 prefix p (masked). The slots it held pass to the
// longest remaining prefix covering p: result repl of length replBits (give
// 0, 0 when none; only lengths inside p's level matter here, shorter ones
// already live higher up the path).
func (t *trie) remove(p netip.Prefix, repl uint32, replBits int) {
	if p.Bits() == 0 {
		t.def = 0
		return
	}
	t.root = t.removeAt(t.root, addr32(p), p.Bits(), 0, repl, replBits)
	if t.root == nil {
		t.root = t.own(nil)
	}
}

// removeAt returns the node replacing n, nil when it became empty.
func (t *trie) removeAt(n *node, a uint32, bits, d int, repl uint32, replBits int) *node {
	if n == nil {
		return nil
	}
	i := byte(a >> (24 - 8*d))
	var m *node
	if bits <= 8*(d+1) {
		r := uint8(bits - 8*d)
		var nv uint32
		var nr uint8
		if replBits > 8*d {
			nv, nr = repl, uint8(replBits-8*d)
		}
		lo := int(i) &^ (1<<(8-r) - 1)
		m = t.own(n)
		for s := lo; s < lo+1<<(8-r); s++ {
			if m.plen[s] == r {
				m.ent[s], m.plen[s] = nv, nr
			}
		}
	} else {
		if n.kid == nil || n.kid[i] == nil {
			return n
		}
		k := n.kid[i]
		nk := t.removeAt(k, a, bits, d+1, repl, replBits)
		if nk == k {
			return n
		}
		m = t.own(n)
		t.setKid(m, i, nk)
	}
	if m.empty() {
		t.nodes--
		return nil
	}
	return m
}

// empty reports whether n holds no result and no child.
func (n *node) empty() bool {
	for _, r := range n.plen {
		if r != 0 {
			return false
		}
	}
	return n.kid == nil // dropped with its last child
}

// lookup returns the result of the longest prefix holding dst, 0 when none.
func lookup(root *node, def uint32, dst [4]byte) uint32 {
	best := def
	n := root
	if e := n.ent[dst[0]]; e != 0 {
		best = e
	}
	if n.kid == nil {
		return best
	}
	if n = n.kid[dst[0]]; n == nil {
		return best
	}
	if e := n.ent[dst[1]]; e != 0 {
		best = e
	}
	if n.kid == nil {
		return best
	}
	if n = n.kid[dst[1]]; n == nil {
		return best
	}
	if e := n.ent[dst[2]]; e != 0 {
		best = e
	}
	if n.kid == nil {
		return best
	}
	if n = n.kid[dst[2]]; n == nil {
		return best
	}
	if e := n.ent[dst[3]]; e != 0 {
		best = e
	}
	return best
}
