package fib

import "github.com/vecnet/vecnet/pkt"

// grpBit marks a result that names an ECMP bucket table rather than an
// adjacency.
const grpBit = 1 << 31

// View is the readers' handle on the table, from [Table.Load]. Any number
// of goroutines may read it at once. Its lookup structure is the table's
// own, updated in place (each address's result changes with one atomic
// store, see the package doc), and so are its adjacency slots; its ECMP
// array is a snapshot that the writer republishes before a route may name a
// new group (a view loaded earlier finds it in the current one).
// An adjacency may be replaced in place by one atomic pointer store (a
// neighbour's MAC changed), which readers see from their next [View.Adj].
type View struct {
	fib    *dir24
	adjs   *adjDir      // the table's, live; adjacency 0 is the drop adjacency
	adj0   *adjChunk    // adjs' first chunk
	groups [][]AdjIndex // ECMP bucket tables, power-of-two lengths; nil when never used
	n      int
	t      *Table // for an index newer than this snapshot (see slow)
}

// Lookup returns the adjacency of the longest prefix holding dst; among the
// paths of an ECMP route it picks one by hash (the same hash always gives
// the same path). A miss returns [AdjDropIndex]. It does not allocate or lock.
func (v *View) Lookup(dst [4]byte, hash uint32) AdjIndex {
	r := v.fib.lookup(uint32(dst[0])<<24 | uint32(dst[1])<<16 | uint32(dst[2])<<8 | uint32(dst[3]))
	if r&grpBit == 0 {
		return AdjIndex(r)
	}
	return v.ecmp(r&^grpBit, hash)
}

// LookupBatch is Lookup over a vector: out[k] = Lookup(dst[k], hash[k])
// for every k < len(dst), with the addresses as big-endian uint32s. The
// first-level loads of a whole vector are issued before any result is
// used, so their cache misses overlap, and the group loads of the entries
// naming one follow in a loop of their own (see dir24.lookupBatch); ECMP
// paths are picked in a pass of their own, once the table has held an
// ECMP route. hash and out must be at least as long as dst; more than a
// vector (pkt.VectorSize) is looked up a vector at a time.
func (v *View) LookupBatch(dst, hash []uint32, out []AdjIndex) {
	for len(dst) > pkt.VectorSize {
		v.LookupBatch(dst[:pkt.VectorSize], hash[:pkt.VectorSize], out[:pkt.VectorSize])
		dst, hash, out = dst[pkt.VectorSize:], hash[pkt.VectorSize:], out[pkt.VectorSize:]
	}
	if v.fib.lookupBatch(dst, out) {
		v.ecmpBatch(hash[:len(dst)], out[:len(dst)])
	}
}

// dir24.lookupBatch lists a vector's indices in bytes.
const _ = uint(256 - pkt.VectorSize)

// ecmpBatch replaces each ECMP group in out (grpBit set) by the path that
// hash picks.
//
//go:noinline
func (v *View) ecmpBatch(hash []uint32, out []AdjIndex) {
	for k, r := range out {
		if r&grpBit != 0 {
			out[k] = v.ecmp(uint32(r)&^grpBit, hash[k])
		}
	}
}

// ecmp picks the path of ECMP group g for hash.
func (v *View) ecmp(g, hash uint32) AdjIndex {
	if uint64(g) < uint64(len(v.groups)) {
		if b := v.groups[g]; len(b) > 0 {
			return b[hash&uint32(len(b)-1)]
		}
	}
	return v.slowECMP(g, hash)
}

// slowECMP serves a group added after this snapshot was loaded: the writer
// published a newer View before storing an entry naming it.
//
//go:noinline
func (v *View) slowECMP(g, hash uint32) AdjIndex {
	if n := v.t.Load(); n != v && uint64(g) < uint64(len(n.groups)) {
		if b := n.groups[g]; len(b) > 0 {
			return b[hash&uint32(len(b)-1)]
		}
	}
	return AdjDropIndex
}

// Adj returns adjacency i, or the drop adjacency when i is out of range
// (packets carry indices across snapshots). The result is read-only.
func (v *View) Adj(i AdjIndex) *Adjacency {
	if i < adjChunkLen { // the first chunk: one load fewer
		return v.adj0[i].p.Load()
	}
	if i < MaxAdjacencies {
		return v.adjs[i/adjChunkLen].Load()[i%adjChunkLen].p.Load()
	}
	return dropAdj
}

// Len returns the number of prefixes installed when the view was
// published.
func (v *View) Len() int { return v.n }
