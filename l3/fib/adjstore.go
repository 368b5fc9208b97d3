package fib

import (
	"sync"
	"sync/atomic"
)

// adjSlot holds one adjacency by pointer. The writer changes an adjacency
// by storing a fresh copy with one atomic pointer store, so a change costs
// O(1) whatever the number of adjacencies, and a reader that loaded the old
// pointer keeps a consistent (if just superseded) adjacency for the packet
// it is forwarding.
type adjSlot struct{ p atomic.Pointer[Adjacency] }

// Adjacency slots live in chunks that never move, behind a fixed directory
// that every view shares, so a slot stored once is seen by every view, a
// view loaded before a slot was added included. A new chunk's slots hold
// the drop adjacency.
const (
	adjChunkLen = 4096
	adjDirLen   = 4096
	// MaxAdjacencies bounds the adjacency slots (and the index a route
	// result can hold: 24 bits).
	MaxAdjacencies = adjChunkLen * adjDirLen
)

type (
	adjChunk [adjChunkLen]adjSlot
	adjDir   [adjDirLen]atomic.Pointer[adjChunk]
)

// dropChunk fills the adjacency directory's unused entries: every index
// below MaxAdjacencies names a slot, the drop adjacency until allocated.
var dropChunk = newAdjChunk()

// newAdjChunk returns a chunk of slots holding the drop adjacency.
func newAdjChunk() *adjChunk {
	c := new(adjChunk)
	for k := range c {
		c[k].p.Store(dropAdj)
	}
	return c
}

// newAdjDir returns a directory whose every chunk is dropChunk but the
// first, which holds the permanent drop adjacency at index 0.
func newAdjDir() *adjDir {
	d := new(adjDir)
	for k := range d {
		d[k].Store(dropChunk)
	}
	d[0].Store(newAdjChunk())
	return d
}

// slot returns adjacency slot i.
func (t *Table) slot(i AdjIndex) *adjSlot { return &t.adjs[i/adjChunkLen].Load()[i%adjChunkLen] }

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
func (t *Table) adjAt(i AdjIndex) Adjacency { return *t.slot(i).p.Load() }

// setAdj publishes a as adjacency i (one atomic store).
func (t *Table) setAdj(i AdjIndex, a Adjacency) {
	p := new(Adjacency)
	*p = a
	t.slot(i).p.Store(p)
}

// newAdj stores a in a reusable free slot, or a new one at the end; the
// slots live in chunks behind the live directory every view shares, so a
// new one is visible to every view as soon as it is stored.
func (t *Table) newAdj(a Adjacency) AdjIndex {
	var i AdjIndex
	if k := len(t.adjFree); k > 0 {
		i, t.adjFree = t.adjFree[k-1], t.adjFree[:k-1]
	} else {
		if t.nadj == MaxAdjacencies {
			panic("fib: adjacency slots exhausted") // 16 Mi next hops: not a table a host holds
		}
		if t.nadj%adjChunkLen == 0 {
			t.adjs[t.nadj/adjChunkLen].Store(newAdjChunk())
		}
		t.refs = append(t.refs, 0)
		i = AdjIndex(t.nadj)
		t.nadj++
	}
	t.refs[i] = 0
	t.setAdj(i, a)
	return i
}

// ref takes a reference on the adjacency a lookup result names (groups hold
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
// is quarantined: it keeps the adjacency (a reader that looked the replaced
// route up just before it changed still forwards the packet the old way)
// until the second Reclaim call, which makes it read as the drop adjacency
// and reusable, so a packet that carries it between ip4-lookup and
// ip4-rewrite never finds another neighbour's rewrite under it.
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
	t.adjLimbo = append(t.adjLimbo, i)
}

// Reclaim ages the quarantine of freed adjacency slots, ECMP groups and
// second-level groups: those freed before the previous call become
// reusable (and a block of second-level groups all free is released);
// adjacency slots among them read as the drop adjacency from then on.
// The neighbour table calls it from its periodic sweep (about once a
// second), so a freed index waits at least one sweep interval before it
// names anything else.
func (t *Table) Reclaim() {
	t.mu.Lock()
	t.reclaim()
	t.mu.Unlock()
}

// TryReclaim is Reclaim when no writer holds the table, and nothing (false)
// when one does: a batch of route changes holds the writer mutex for as
// long as it takes (100 000 routes: 0.1-0.3 s), and a worker that waited
// for it would forward nothing meanwhile while its receive queue dropped.
// Workers call this one and try again at a later sweep; skipping a call
// only lengthens the quarantine.
func (t *Table) TryReclaim() bool {
	return tryLocked(&t.mu, t.reclaim)
}

// reclaim is Reclaim's work, under the writer mutex.
func (t *Table) reclaim() {
	for _, i := range t.adjReady {
		t.slot(i).p.Store(dropAdj)
	}
	t.adjFree = append(t.adjFree, t.adjReady...)
	t.adjReady = append(t.adjReady[:0], t.adjLimbo...)
	t.adjLimbo = t.adjLimbo[:0]
	t.gfree = append(t.gfree, t.gReady...)
	t.gReady = append(t.gReady[:0], t.gLimbo...)
	t.gLimbo = t.gLimbo[:0]
	t.fib.reclaim()
	t.rib.reclaim()
}

// AdjStats returns the adjacency counts.
func (t *Table) AdjStats() AdjStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := len(t.adjLimbo) + len(t.adjReady)
	free := q + len(t.adjFree)
	return AdjStats{Live: t.nadj - free, Free: free, Quarantined: q, Slots: t.nadj}
}

// Stats counts the IPv4 table's structure, for the churn checks: after a
// large table is withdrawn every count is back where it was.
type Stats struct {
	// Prefixes installed (every source).
	Prefixes int
	// Pages is the number of 4 KiB pages of the first level (1024 /24s
	// each) holding a route (a page whose entries are all zero again is
	// given back to the kernel at the next Reclaim). Groups is the number of second-level groups in use (one
	// per /24 holding a prefix longer than /24, 1 KiB each, quarantined
	// ones not counted).
	Pages  int
	Groups int
	// GroupBlocks is the number of blocks of 256 groups taken (freed
	// ones included until every group of a block is free again).
	GroupBlocks int
	// Adjacencies counts the live ones (AdjStats.Live).
	Adjacencies int
}

// Stats returns the counts.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	free := len(t.adjLimbo) + len(t.adjReady) + len(t.adjFree)
	return Stats{Prefixes: t.rib.Size(), Pages: t.fib.pages, Groups: t.fib.groupsUsed, GroupBlocks: t.fib.blocks, Adjacencies: t.nadj - free}
}

// tryLocked runs f under mu unless a writer holds mu, and reports whether
// it ran: the Try methods a worker calls, which must never wait for a
// batch of route changes.
func tryLocked(mu *sync.Mutex, f func()) bool {
	if !mu.TryLock() {
		return false
	}
	f()
	mu.Unlock()
	return true
}
