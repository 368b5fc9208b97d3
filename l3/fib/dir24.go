package fib

import (
	"net/netip"
	"sync/atomic"
)

// An entry of the DIR-24-8 table, the same encoding at every level:
//
//	bits 0-5   plen: the length of the prefix that wrote it (1..32); an entry
//	           of 0 means no route (the default route, kept apart, applies)
//	bit  6     entExt: a first-level entry naming a second-level group
//	           (bits 8-31), for a /24 that holds prefixes longer than /24
//	bit  7     entECMP: the result is an ECMP bucket table, not an adjacency
//	bits 8-31  the index: adjacency, ECMP group or second-level group
const (
	entPlen     = 63
	entExt      = 1 << 6
	entECMP     = 1 << 7
	entShift    = 8
	maxEntIndex = 1<<(32-entShift) - 1
)

// Second-level groups live in blocks of groupsPerBlock; a block is
// allocated when the free list runs dry and released when every group in it
// is free again (after quarantine).
const (
	groupsPerBlock = 256
	maxGroupBlocks = 4096 // 1 Mi groups (1 GiB of them)
	// MaxGroups bounds the /24s that may hold prefixes longer than /24 at
	// once (a second-level group each).
	MaxGroups = groupsPerBlock * maxGroupBlocks
)

type (
	l1Chunk    [1 << 16]uint32 // the /24 entries of one /8
	l2Group    [256]uint32     // the /32 entries of one /24
	groupBlock [groupsPerBlock]l2Group
)

// encodeEnt packs result res (adjacency index, or grpBit|ECMP group) written
// by a prefix of length plen (1..32).
func encodeEnt(res uint32, plen int) uint32 {
	e := (res&^grpBit)<<entShift | uint32(plen)
	if res&grpBit != 0 {
		e |= entECMP
	}
	return e
}

// decodeEnt returns an entry's result (adjacency index or grpBit|group).
func decodeEnt(e uint32) uint32 { return e>>entShift | (e&entECMP)<<(31-7) }

// nonUniform reports whether first-level entry e differs from what its /8's
// top entry says: it names a group or comes from a prefix longer than /8.
func nonUniform(e uint32) bool { return e&entExt != 0 || e&entPlen > 8 }

// dir24 is the IPv4 lookup structure, DIR-24-8 (as DPDK's rte_fib and, in
// spirit, VPP's ip4 mtrie): a 2^24-entry first level indexed by the top 24
// bits of the address, cut into one lazily allocated chunk per /8, and
// 256-entry second-level groups for the /24s holding longer prefixes.
// A /8 whose entries all come from prefixes of /8 or shorter has no chunk:
// its top entry answers for it. Prefixes are expanded: each entry holds the
// longest prefix covering it and that prefix's length, so an insert writes
// only the entries whose length is not longer and a removal only the
// entries its own length wrote.
//
// It is updated in place: readers load entries and chunk and block
// pointers atomically, the single writer (the table's mutex) stores them
// atomically, and an address's entry goes from its old result to its new
// one in one store. A new chunk or group is filled before the entry or
// pointer naming it is stored. Chunks left uniform go at the next reclaim, to the
// garbage collector (a reader still holding one reads a stale but valid copy);
// freed groups are quarantined for two reclaim calls before reuse, and a
// block of groups is released only when every group in it is free.
type dir24 struct {
	def    atomic.Uint32 // result of 0.0.0.0/0, 0 when none
	defEnt atomic.Uint32 // the same as an entry (length 0)
	top    [256]atomic.Uint32
	l1     [256]atomic.Pointer[l1Chunk]
	blocks [maxGroupBlocks]atomic.Pointer[groupBlock]

	// The writer's bookkeeping.
	l1n        [256]int32 // per chunk: entries that are nonUniform
	gn         []uint16   // per group: entries from prefixes longer than /24
	blockLive  []int32    // per block: groups not on the free list
	gFree      []uint32   // reusable groups
	gLimbo     []uint32   // freed since the last reclaim
	gReady     []uint32   // freed before the last reclaim
	chunks     int
	groupsUsed int // groups in use (not free, not quarantined)
}

func newDir24() *dir24 { return &dir24{} }

// lookup returns the result of the longest prefix holding address a (the
// default route's when none; 0 when there is none either).
func (d *dir24) lookup(a uint32) uint32 {
	var e uint32
	if c := d.l1[a>>24].Load(); c != nil {
		e = atomic.LoadUint32(&c[a>>8&0xffff])
		if e&entExt != 0 {
			e = d.second(e, a)
		}
	} else {
		e = d.top[a>>24].Load()
	}
	if e == 0 {
		return d.def.Load()
	}
	return decodeEnt(e)
}

// loadBatch is the first pass of a vector lookup (len(dst) <= 256): out[k]
// = the first-level entry (or top entry) of dst[k], raw, and ext[:n] the
// k whose entry names a group. It has no branch on what the entries hold,
// so the cache misses of the whole vector overlap (as rte_fib's bulk
// lookup); [View.LookupBatch] follows the groups and decodes.
func (d *dir24) loadBatch(dst []uint32, out []AdjIndex, ext *[256]uint8) (n int) {
	out = out[:len(dst)]
	for k, a := range dst {
		var e uint32
		if c := d.l1[a>>24].Load(); c != nil {
			e = atomic.LoadUint32(&c[a>>8&0xffff])
		} else {
			e = d.top[a>>24].Load()
		}
		out[k] = AdjIndex(e)
		ext[n&0xff] = uint8(k)
		n += int(e>>6) & 1 // entExt
	}
	return n
}

// second returns the entry for address a in the group that first-level
// entry e names (0 for a stale index older than the quarantine).
func (d *dir24) second(e, a uint32) uint32 {
	g := e >> entShift
	b := d.blocks[g/groupsPerBlock%maxGroupBlocks].Load()
	if b == nil {
		return 0
	}
	return atomic.LoadUint32(&b[g%groupsPerBlock][a&0xff])
}

// groupAt returns second-level group g (the writer's view).
func (d *dir24) groupAt(g uint32) *l2Group {
	return &d.blocks[g/groupsPerBlock].Load()[g%groupsPerBlock]
}

// chunk returns /8 x's chunk, allocating it (filled with the top entry)
// when it has none.
func (d *dir24) chunk(x uint32) *l1Chunk {
	if c := d.l1[x].Load(); c != nil {
		return c
	}
	c := new(l1Chunk)
	if fill := d.top[x].Load(); fill != 0 {
		for i := range c {
			c[i] = fill
		}
	}
	d.l1n[x] = 0
	d.l1[x].Store(c) // published filled
	d.chunks++
	return c
}

// dropChunks releases every chunk whose top entry says it all (called
// from reclaim, so that a /24 that flaps does not reallocate its /8's chunk
// each time).
func (d *dir24) dropChunks() {
	for x := range d.l1 {
		if d.l1n[x] == 0 && d.l1[x].Load() != nil {
			d.l1[x].Store(nil)
			d.chunks--
		}
	}
}

// setL1 stores first-level entry i of /8 x's chunk c.
func (d *dir24) setL1(x uint32, c *l1Chunk, i uint32, e uint32) {
	if o := c[i]; nonUniform(o) != nonUniform(e) {
		if nonUniform(e) {
			d.l1n[x]++
		} else {
			d.l1n[x]--
		}
	}
	atomic.StoreUint32(&c[i], e)
}

// newGroup returns a group filled with e (not yet visible to readers).
func (d *dir24) newGroup(e uint32) uint32 {
	if len(d.gFree) == 0 {
		d.growGroups()
	}
	n := len(d.gFree)
	g := d.gFree[n-1]
	d.gFree = d.gFree[:n-1]
	grp := d.groupAt(g)
	for j := range grp {
		atomic.StoreUint32(&grp[j], e) // a reader may have held its index before the quarantine
	}
	d.gn[g] = 0
	d.blockLive[g/groupsPerBlock]++
	d.groupsUsed++
	return g
}

// growGroups allocates the lowest unused block and puts its groups on the
// free list (lowest index last, used first).
func (d *dir24) growGroups() {
	for b := range d.blocks {
		if d.blocks[b].Load() != nil {
			continue
		}
		d.blocks[b].Store(new(groupBlock))
		if need := (b + 1) * groupsPerBlock; len(d.gn) < need {
			d.gn = append(d.gn, make([]uint16, need-len(d.gn))...)
			d.blockLive = append(d.blockLive, make([]int32, b+1-len(d.blockLive))...)
		}
		for j := groupsPerBlock - 1; j >= 0; j-- {
			d.gFree = append(d.gFree, uint32(b*groupsPerBlock+j))
		}
		return
	}
	panic("fib: second-level groups exhausted") // callers check groupRoom first
}

// groupRoom returns how many groups may still be allocated.
func (d *dir24) groupRoom() int { return MaxGroups - d.groupsUsed - len(d.gLimbo) - len(d.gReady) }

// freeGroup quarantines group g: no entry names it any more, but a reader
// may still hold its index.
func (d *dir24) freeGroup(g uint32) {
	d.gLimbo = append(d.gLimbo, g)
	d.groupsUsed--
}

// reclaim ages the quarantine: groups freed before the previous call become
// reusable, and blocks whose groups are all free are released; so are
// chunks left uniform since.
func (d *dir24) reclaim() {
	d.dropChunks()
	released := false
	for _, g := range d.gReady {
		b := g / groupsPerBlock
		if d.blockLive[b]--; d.blockLive[b] == 0 {
			d.blocks[b].Store(nil)
			released = true
		}
	}
	d.gFree = append(d.gFree, d.gReady...)
	d.gReady = append(d.gReady[:0], d.gLimbo...)
	d.gLimbo = d.gLimbo[:0]
	if !released {
		return
	}
	keep := d.gFree[:0]
	for _, g := range d.gFree {
		if d.blocks[g/groupsPerBlock].Load() != nil {
			keep = append(keep, g)
		}
	}
	d.gFree = keep
	if len(d.gFree) == 0 && d.groupsUsed == 0 && len(d.gReady) == 0 {
		d.gFree, d.gn, d.blockLive = nil, nil, nil // all gone: give the bookkeeping back too
	}
}

// insert sets the result of IPv4 prefix p (masked) to res (non-zero).
func (d *dir24) insert(p netip.Prefix, res uint32) {
	bits := p.Bits()
	if bits == 0 {
		d.def.Store(res)
		d.defEnt.Store(encodeEnt(res, 0))
		return
	}
	a := addr32(p)
	e := encodeEnt(res, bits)
	x := a >> 24
	switch {
	case bits <= 8:
		for ; x < a>>24+1<<(8-bits); x++ {
			old := d.top[x].Load()
			if int(old&entPlen) > bits {
				continue // a longer prefix holds the whole /8
			}
			d.top[x].Store(e)
			d.replaceUniform(x, old, e)
		}
	case bits <= 24:
		c := d.chunk(x)
		i0 := a >> 8 & 0xffff
		for i := i0; i < i0+1<<(24-bits); i++ {
			d.cover(x, c, i, e, bits)
		}
	default:
		c := d.chunk(x)
		i := a >> 8 & 0xffff
		o := c[i]
		var g uint32
		if o&entExt != 0 {
			g = o >> entShift
		} else {
			g = d.newGroup(o)
		}
		grp := d.groupAt(g)
		j0 := a & 0xff
		for j := j0; j < j0+1<<(32-bits); j++ {
			if l := int(grp[j] & entPlen); l <= bits {
				if l <= 24 {
					d.gn[g]++
				}
				atomic.StoreUint32(&grp[j], e)
			}
		}
		if o&entExt == 0 {
			d.setL1(x, c, i, entExt|g<<entShift) // the group is complete: publish it
		}
	}
}

// replaceUniform rewrites the entries of /8 x's chunk (and its groups)
// that equal its old top entry: those hold the prefix of /8 or shorter that
// covers the /8 (or nothing, when old is 0), and only they change when that
// prefix does.
func (d *dir24) replaceUniform(x uint32, old, e uint32) {
	c := d.l1[x].Load()
	if c == nil {
		return
	}
	for i := range c {
		o := c[i]
		if o == old {
			atomic.StoreUint32(&c[i], e)
			continue
		}
		if o&entExt == 0 {
			continue
		}
		grp := d.groupAt(o >> entShift)
		for j := range grp {
			if grp[j] == old {
				atomic.StoreUint32(&grp[j], e)
			}
		}
	}
}

// cover writes e (a prefix of length bits <= 24) over first-level entry i
// of chunk c and the group it names, where nothing longer holds them.
func (d *dir24) cover(x uint32, c *l1Chunk, i uint32, e uint32, bits int) {
	o := c[i]
	if o&entExt == 0 {
		if int(o&entPlen) <= bits {
			d.setL1(x, c, i, e)
		}
		return
	}
	grp := d.groupAt(o >> entShift)
	for j := range grp {
		if int(grp[j]&entPlen) <= bits {
			atomic.StoreUint32(&grp[j], e)
		}
	}
}

// remove clears IPv4 prefix p (masked): the entries it wrote pass to the
// longest remaining prefix covering it, result repl of length replBits
// (0, 0 when none: the default route then applies).
func (d *dir24) remove(p netip.Prefix, repl uint32, replBits int) {
	bits := p.Bits()
	if bits == 0 {
		d.def.Store(0)
		d.defEnt.Store(0)
		return
	}
	var r uint32
	if replBits > 0 {
		r = encodeEnt(repl, replBits)
	}
	a := addr32(p)
	x := a >> 24
	switch {
	case bits <= 8:
		for ; x < a>>24+1<<(8-bits); x++ {
			old := d.top[x].Load()
			if int(old&entPlen) != bits {
				continue // p is shadowed by a longer prefix in this /8
			}
			d.top[x].Store(r)
			d.replaceUniform(x, old, r)
		}
	case bits <= 24:
		c := d.l1[x].Load()
		if c == nil {
			return
		}
		i0 := a >> 8 & 0xffff
		for i := i0; i < i0+1<<(24-bits); i++ {
			d.uncover(x, c, i, r, bits)
		}
	default:
		c := d.l1[x].Load()
		if c == nil {
			return
		}
		i := a >> 8 & 0xffff
		o := c[i]
		if o&entExt == 0 {
			return
		}
		g := o >> entShift
		grp := d.groupAt(g)
		j0 := a & 0xff
		for j := j0; j < j0+1<<(32-bits); j++ {
			if int(grp[j]&entPlen) == bits {
				if replBits <= 24 {
					d.gn[g]--
				}
				atomic.StoreUint32(&grp[j], r)
			}
		}
		if d.gn[g] == 0 { // only the /24's cover is left: back to one entry
			d.setL1(x, c, i, grp[0])
			d.freeGroup(g)
		}
	}
}

// uncover replaces the entries of first-level entry i (and its group)
// that a prefix of length bits <= 24 wrote by r.
func (d *dir24) uncover(x uint32, c *l1Chunk, i uint32, r uint32, bits int) {
	o := c[i]
	if o&entExt == 0 {
		if int(o&entPlen) == bits {
			d.setL1(x, c, i, r)
		}
		return
	}
	grp := d.groupAt(o >> entShift)
	for j := range grp {
		if int(grp[j]&entPlen) == bits {
			atomic.StoreUint32(&grp[j], r)
		}
	}
}

func addr32(p netip.Prefix) uint32 {
	a := p.Addr().As4()
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}
