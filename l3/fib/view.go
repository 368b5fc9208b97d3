package fib

// grpBit marks a trie result that names an ECMP bucket table rather than an
// adjacency.
const grpBit = 1 << 31

// View is a snapshot of the table, from [Table.Load]. Any number of
// goroutines may read it at once. Its trie and groups never change after it
// is published; an adjacency may be replaced in place by one atomic pointer
// store (a neighbour's MAC changed), which readers see from their next
// [View.Adj].
type View struct {
	root   *node
	def    uint32
	adjs   []adjSlot    // adjs[0] is the drop adjacency
	groups [][]AdjIndex // ECMP bucket tables, power-of-two lengths; nil when free
	n      int
}

// Lookup returns the adjacency of the longest prefix holding dst; among the
// paths of an ECMP route it picks one by hash (the same hash always gives
// the same path). A miss returns [AdjDropIndex]. It does not allocate or lock.
func (v *View) Lookup(dst [4]byte, hash uint32) AdjIndex {
	r := lookup(v.root, v.def, dst)
	if r&grpBit == 0 {
		return AdjIndex(r)
	}
	g := v.groups[r&^grpBit]
	return g[hash&uint32(len(g)-1)]
}

// Adj returns adjacency i, or the drop adjacency when i is out of range
// (packets carry indices across snapshots). The result is read-only.
func (v *View) Adj(i AdjIndex) *Adjacency {
	if uint64(i) >= uint64(len(v.adjs)) {
		return dropAdj
	}
	return v.adjs[i].p.Load()
}

// Len returns the number of prefixes in the snapshot.
func (v *View) Len() int { return v.n }
