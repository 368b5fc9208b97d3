package fib

import "sync/atomic"

// adjSlot holds one adjacency by pointer. The writer changes an adjacency
// by storing a fresh copy with one atomic pointer store, so a change costs
// O(1) whatever the number of adjacencies, and a reader that loaded the old
// pointer keeps a consistent (if just superseded) adjacency for the packet
// it is forwarding. Views share the slot array with the writer until it
// grows.
type adjSlot struct{ p atomic.Pointer[Adjacency] }

// dropAdj is what a freed slot and an out-of-range index read as.
var dropAdj = &Adjacency{Kind: AdjDrop}

// AdjStats counts the table's adjacency slots, for "show neighbors" and the
// soak's "no adjacency growth" check.
type AdjStats struct {
	// Live adjacencies: the drop, glean and local ones and every next hop
	// a route or a neighbour uses.
	Live int
	// Free slots, waiting for reuse (Quarantined of them are not reusable
	// yet: packets in flight may still carry their index).
	Free        int
	Quarantined int
	// Slots is Live + Free: the size of the adjacency array.
	Slots int
}

// adjAt returns adjacency i as the writer sees it.
func (t *Table) adjAt(i AdjIndex) Adjacency { return *t.adjs[i].p.Load() }

// setAdj publishes a as adjacency i (one atomic store).
func (t *Table) setAdj(i AdjIndex, a Adjacency) {
	p := new(Adjacency)
	*p = a
	t.adjs[i].p.Store(p)
}

// newAdj stores a in a reusable free slot, or a new one at the end; the
// caller publishes a view when the slot is new (appending never touches the
// part of the array that published views can see).
func (t *Table) newAdj(a Adjacency) AdjIndex {
	var i AdjIndex
	if k := len(t.adjFree); k > 0 {
		i, t.adjFree = t.adjFree[k-1], t.adjFree[:k-1]
	} else {
		t.adjs = append(t.adjs, adjSlot{})
		t.refs = append(t.refs, 0)
		i = AdjIndex(len(t.adjs) - 1)
	}
	t.refs[i] = 0
	t.setAdj(i, a)
	return i
}

// ref takes a reference on the adjacency a trie result names (groups hold
// references on their members themselves).
func (t *Table) ref(res uint32) {
	if res&grpBit == 0 {
		t.refs[res]++
	}
}

// unref drops one; a next-hop adjacency nothing uses any more is freed.
func (t *Table) unref(res uint32) {
	if res&grpBit != 0 {
		return
	}
	if t.refs[res]--; t.refs[res] > 0 {
		return
	}
	t.maybeFree(AdjIndex(res))
}

// maybeFree frees next-hop adjacency i if nothing refers to it. Its slot
// reads as the drop adjacency and is quarantined: the index becomes
// reusable only after two Reclaim calls, so a packet that carries it
// between ip4-lookup and ip4-rewrite never finds another neighbour's
// rewrite under it.
func (t *Table) maybeFree(i AdjIndex) {
	if t.refs[i] > 0 {
		return
	}
	a := t.adjAt(i)
	if a.Kind != AdjIncomplete && a.Kind != AdjRewrite {
		return // drop, glean and local adjacencies are permanent
	}
	k := adjKey{a.Port, a.NextHop}
	if j, ok := t.nhAdj[k]; !ok || j != i {
		return
	}
	delete(t.nhAdj, k)
	t.adjs[i].p.Store(dropAdj)
	t.adjLimbo = append(t.adjLimbo, i)
}

// Reclaim ages the quarantine of freed adjacency slots: slots freed before
// the previous call become reusable. The neighbour table calls it from its
// periodic sweep (about once a second), so a freed index waits at least one
// sweep interval before it names another next hop.
func (t *Table) Reclaim() {
	t.mu.Lock()
	t.adjFree = append(t.adjFree, t.adjReady...)
	t.adjReady = append(t.adjReady[:0], t.adjLimbo...)
	t.adjLimbo = t.adjLimbo[:0]
	t.mu.Unlock()
}

// AdjStats returns the adjacency counts.
func (t *Table) AdjStats() AdjStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := len(t.adjLimbo) + len(t.adjReady)
	free := q + len(t.adjFree)
	return AdjStats{Live: len(t.adjs) - free, Free: free, Quarantined: q, Slots: len(t.adjs)}
}

// Stats counts the IPv4 table's structure, for the churn checks: after a
// large table is withdrawn every count is back where it was.
type Stats struct {
	// Prefixes installed (every source).
	Prefixes int
	// Nodes (256-slot trie levels) and ChildArrays in the current trie.
	Nodes       int
	ChildArrays int
	// Adjacencies counts the live ones (AdjStats.Live).
	Adjacencies int
}

// Stats returns the counts.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	free := len(t.adjLimbo) + len(t.adjReady) + len(t.adjFree)
	return Stats{Prefixes: t.rib.Size(), Nodes: t.trie.nodes, ChildArrays: t.trie.kids, Adjacencies: len(t.adjs) - free}
}
