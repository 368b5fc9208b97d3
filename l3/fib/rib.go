package fib

import (
	"iter"
	"net/netip"
	"slices"
)

// rib4 is the writer's exact-match record of the installed IPv4 prefixes:
// a map keyed by address and length (no pointers, so the garbage collector
// does not scan it) plus a count per prefix length, which bounds the
// search for a covering prefix to the lengths in use.
type rib4 struct {
	m       map[uint64]ribEntry
	lens    [33]int
	peak    int // the size the map last grew to (Go maps never shrink)
	drained int // consecutive reclaims that found it below an eighth of peak
	high    int // its largest size since the last reclaim
}

// ribShrinkAfter is the number of consecutive reclaims (about a second
// apart in the daemon) the map must stay below an eighth of its peak before
// it is rebuilt smaller: a table withdrawn and soon installed again (a
// session flap, a churn) refills the map it had instead of growing a new
// one, and one withdrawn for good gives its memory back within seconds.
const ribShrinkAfter = 4

func newRIB4() *rib4 { return &rib4{m: map[uint64]ribEntry{}} }

// ribKey packs a masked IPv4 prefix: address above, length below.
func ribKey(p netip.Prefix) uint64 { return uint64(addr32(p))<<6 | uint64(p.Bits()) }

func ribPrefix(k uint64) netip.Prefix {
	a := uint32(k >> 6)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), int(k&63))
}

// Get returns the entry at p (masked).
func (r *rib4) Get(p netip.Prefix) (ribEntry, bool) {
	e, ok := r.m[ribKey(p)]
	return e, ok
}

// Insert sets the entry at p (masked).
func (r *rib4) Insert(p netip.Prefix, e ribEntry) {
	k := ribKey(p)
	if _, ok := r.m[k]; !ok {
		r.lens[p.Bits()]++
	}
	r.m[k] = e
	r.peak = max(r.peak, len(r.m))
	r.high = max(r.high, len(r.m))
}

// swap sets the entry at p (masked) and returns the one it replaced.
func (r *rib4) swap(p netip.Prefix, e ribEntry) (ribEntry, bool) {
	k := ribKey(p)
	old, had := r.m[k]
	if !had {
		r.lens[p.Bits()]++
	}
	r.m[k] = e
	r.peak = max(r.peak, len(r.m))
	r.high = max(r.high, len(r.m))
	return old, had
}

// Delete removes p (masked).
func (r *rib4) Delete(p netip.Prefix) {
	k := ribKey(p)
	if _, ok := r.m[k]; !ok {
		return
	}
	delete(r.m, k)
	r.lens[p.Bits()]--
}

// reclaim rebuilds the map smaller once it has stayed below an eighth of its
// peak for ribShrinkAfter calls in a row, refills between them included (amortised: the copy costs less
// than the deletes that led to it).
func (r *rib4) reclaim() {
	high := r.high
	r.high = len(r.m)
	if r.peak <= 1024 || high >= r.peak/8 {
		r.drained = 0
		return
	}
	if r.drained++; r.drained < ribShrinkAfter {
		return
	}
	m := make(map[uint64]ribEntry, len(r.m))
	for k, e := range r.m {
		m[k] = e
	}
	r.m, r.peak, r.drained = m, len(m), 0
}

// Size returns the number of prefixes.
func (r *rib4) Size() int { return len(r.m) }

// cover returns the longest prefix strictly shorter than p and longer than
// minBits that holds p.
func (r *rib4) cover(p netip.Prefix, minBits int) (netip.Prefix, ribEntry, bool) {
	for l := p.Bits() - 1; l > minBits; l-- {
		if r.lens[l] == 0 {
			continue
		}
		q := netip.PrefixFrom(p.Addr(), l).Masked()
		if e, ok := r.m[ribKey(q)]; ok {
			return q, e, true
		}
	}
	return netip.Prefix{}, ribEntry{}, false
}

// AllSorted4 yields every prefix in address order, shorter first.
func (r *rib4) AllSorted4() iter.Seq2[netip.Prefix, ribEntry] {
	return func(yield func(netip.Prefix, ribEntry) bool) {
		keys := make([]uint64, 0, len(r.m))
		for k := range r.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(ribPrefix(k), r.m[k]) {
				return
			}
		}
	}
}
