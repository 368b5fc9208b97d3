package fib

import (
	"math/bits"
	"net/netip"
	"runtime"
	"sync/atomic"
	"unsafe"
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
// taken when the free list runs dry and its pages given back when every
// group in it is free again (after quarantine).
const (
	groupsPerBlock = 256
	maxGroupBlocks = 4096 // 1 Mi groups (1 GiB of them)
	groupsPerPage  = 4    // 1 KiB each
	// MaxGroups bounds the /24s that may hold prefixes longer than /24 at
	// once (a second-level group each).
	MaxGroups = groupsPerBlock * maxGroupBlocks
)

// The first level's bookkeeping is per 4 KiB page of entries, the unit in
// which its memory goes back to the kernel.
const (
	l1Entries   = 1 << 24
	pageEntries = 1024 // uint32 entries in a 4 KiB page
	l1Pages     = l1Entries / pageEntries
	grpEntries  = MaxGroups * 256
)

type (
	l1Table [l1Entries]uint32  // the /24 entries, indexed by address>>8
	l2Table [grpEntries]uint32 // the groups' /32 entries, group<<8 | address&0xff
	l2Group [256]uint32        // the /32 entries of one /24
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

// decodeEnt returns an entry's result (adjacency index or grpBit|group):
// a rotation brings entECMP (bit 7) to grpBit (bit 31) and the index to
// the bottom, and the mask drops the length and entExt.
func decodeEnt(e uint32) uint32 { return bits.RotateLeft32(e, -entShift) & (grpBit | maxEntIndex) }

// dir24 is the IPv4 lookup structure, DIR-24-8 (as DPDK's rte_fib and, in
// spirit, VPP's ip4 mtrie): a flat first level of 2^24 entries indexed by
// the top 24 bits of the address, and 256-entry second-level groups for
// the /24s holding longer prefixes. Prefixes are expanded: each entry
// holds the longest prefix covering it and that prefix's length, so an
// insert writes only the entries whose length is not longer and a removal
// only the entries its own length wrote. The default route is kept apart
// (an entry of 0 means it).
//
// Both levels are mapped outside the Go heap (64 MiB and 1 GiB of address
// space, backed only where written), so they are no garbage to collect
// and a lookup is one load of the first level, plus one of the group for
// an entry naming one: no pointer to follow, no nil to test. Memory goes
// back to the kernel at reclaim: first-level pages whose entries all
// became zero, and blocks of groups all free, are dropped with
// madvise(MADV_DONTNEED) and read as zero again. The mappings are
// released when the dir24 is collected.
//
// It is updated in place: readers load entries atomically, the single
// writer (the table's mutex) stores them atomically, and an address's
// entry goes from its old result to its new one in one store. A new group
// is filled before the entry naming it is stored; freed groups are
// quarantined for two reclaim calls before reuse, and a block of groups is
// dropped only when every group in it is free.
type dir24 struct {
	tbl    *l1Table
	grp    *l2Table
	def    atomic.Uint32 // result of 0.0.0.0/0, 0 when none
	defEnt atomic.Uint32 // the same as an entry (length 0)
	ecmp   atomic.Bool   // an entry may name an ECMP group: set before the first is stored, never cleared

	// The writer's bookkeeping.
	pageLive   []uint16  // per first-level page: non-zero entries
	pages      int       // first-level pages holding a non-zero entry
	resident   []byte    // mincore's answer for the first level (dropPages)
	blockUsed  []bool    // per block of groups: taken (its pages may be resident)
	blocks     int       // blocks taken
	gn         []uint16  // per group: entries from prefixes longer than /24
	blockLive  []int32   // per block: groups not on the free list
	gPageLive  []uint8   // per 4 KiB page of groups (4 groups): those not on the free list
	gPageDrop  []uint64  // pages of groups whose groups all became free (a bit each)
	gFree      []uint32  // reusable groups
	gLimbo     []uint32  // freed since the last reclaim
	gReady     []uint32  // freed before the last reclaim
	groupsUsed int       // groups in use (not free, not quarantined)
	mem        [2][]byte // the mappings of tbl and grp
}

func newDir24() *dir24 {
	m1 := mapZeroed(int(unsafe.Sizeof(l1Table{})))
	m2 := mapZeroed(int(unsafe.Sizeof(l2Table{})))
	d := &dir24{
		tbl:      (*l1Table)(unsafe.Pointer(unsafe.SliceData(m1))),
		grp:      (*l2Table)(unsafe.Pointer(unsafe.SliceData(m2))),
		pageLive: make([]uint16, l1Pages),
		mem:      [2][]byte{m1, m2},
	}
	runtime.AddCleanup(d, unmap, d.mem)
	return d
}

// lookup returns the result of the longest prefix holding address a (the
// default route's when none; 0 when there is none either).
func (d *dir24) lookup(a uint32) uint32 {
	e := atomic.LoadUint32(&d.tbl[a>>8])
	if e&entExt != 0 {
		e = d.second(e, a)
	}
	if e == 0 {
		e = d.defEnt.Load()
	}
	runtime.KeepAlive(d) // the mappings live until the last load
	return decodeEnt(e)
}

// lookupBatch is lookup over a vector (len(dst) <= 256, len(out) >=
// len(dst)): out[k] = lookup(dst[k]), and ecmp reports whether some
// result may name an ECMP group (grpBit set). Four passes, so that the
// loads that miss the cache overlap as far as the core's window allows:
//
//  1. the first-level loads alone (out[k] = the raw entry): nothing but a
//     store waits on each, so the core keeps issuing the next ones instead
//     of filling its schedulers with work that waits on a miss;
//  2. over the entries (now in the L1 cache): decode, with the default
//     route for an empty entry, and list the k whose entry names a group;
//  3. the group loads alone, for the listed k (a third of the addresses
//     with a full table here), with nothing but a store waiting on them;
//  4. their decoding.
//
// No branch depends on what an entry holds (the lists are built with an
// index that only advances), and ECMP is looked for only once the table
// has held an ECMP route.
func (d *dir24) lookupBatch(dst []uint32, out []AdjIndex) (ecmp bool) {
	tbl := d.tbl[:] // slices of known length: no nil check per address
	grp := d.grp[:]
	out = out[:len(dst)]
	k := 0
	for ; k+4 <= len(dst); k += 4 { // four at a time: fewer instructions between misses
		a, o := (*[4]uint32)(dst[k:k+4]), (*[4]AdjIndex)(out[k:k+4])
		o[0] = AdjIndex(atomic.LoadUint32(&tbl[a[0]>>8]))
		o[1] = AdjIndex(atomic.LoadUint32(&tbl[a[1]>>8]))
		o[2] = AdjIndex(atomic.LoadUint32(&tbl[a[2]>>8]))
		o[3] = AdjIndex(atomic.LoadUint32(&tbl[a[3]>>8]))
	}
	for ; k < len(dst); k++ {
		out[k] = AdjIndex(atomic.LoadUint32(&tbl[dst[k]>>8]))
	}
	def := d.defEnt.Load()
	var ext [256]uint8 // the k whose entry names a group
	n := 0
	// out[k] becomes the result, or for an entry naming a group the
	// group's index, listed in ext[:n] (written for every k, counted for
	// these only).
	for k := range out {
		e := uint32(out[k])
		if e == 0 {
			e = def
		}
		ext[n&0xff] = uint8(k)
		n += int(e>>6) & 1 // entExt: out[k] is the group's index
		out[k] = AdjIndex(decodeEnt(e))
	}
	ks := ext[:min(n, len(ext))]
	for _, k := range ks {
		out[k] = AdjIndex(atomic.LoadUint32(&grp[(uint32(out[k])<<entShift|dst[k]&0xff)&(grpEntries-1)]))
	}
	for _, k := range ks {
		e := uint32(out[k])
		if e == 0 {
			e = def
		}
		out[k] = AdjIndex(decodeEnt(e))
	}
	runtime.KeepAlive(d) // the mappings live until the last load
	// After the entries: one naming an ECMP group was stored after the flag.
	return d.ecmp.Load()
}

// second returns the entry for address a in the group that first-level
// entry e names (0 for a stale index older than the quarantine: its block
// may have been dropped).
func (d *dir24) second(e, a uint32) uint32 {
	return atomic.LoadUint32(&d.grp[(e&^0xff|a&0xff)&(grpEntries-1)])
}

// groupAt returns second-level group g (the writer's view).
func (d *dir24) groupAt(g uint32) *l2Group {
	return (*l2Group)(d.grp[g*256 : g*256+256])
}

// setL1 stores first-level entry i, keeping the per-page counts.
func (d *dir24) setL1(i uint32, e uint32) {
	if o := d.tbl[i]; (o == 0) != (e == 0) {
		pg := i / pageEntries
		if e != 0 {
			if d.pageLive[pg]++; d.pageLive[pg] == 1 {
				d.pages++
			}
		} else {
			if d.pageLive[pg]--; d.pageLive[pg] == 0 {
				d.pages--
			}
		}
	}
	atomic.StoreUint32(&d.tbl[i], e)
}

// dropPages gives back the resident first-level pages whose entries are
// all zero, coalescing runs into one madvise each: those a removal emptied
// and those a reader only read (on this kernel a read of an untouched
// anonymous page may allocate one). A reader still loading from one reads
// zero, which it held, at the cost of a page fault the first time after.
func (d *dir24) dropPages() {
	if d.resident == nil {
		d.resident = make([]byte, l1Pages)
	}
	if !mincore(d.mem[0], d.resident) {
		for pg := range d.resident { // cannot tell: drop every empty page
			d.resident[pg] = 1
		}
	}
	run := -1
	for pg := range l1Pages + 1 {
		if pg < l1Pages && d.resident[pg]&1 != 0 && d.pageLive[pg] == 0 {
			if run < 0 {
				run = pg
			}
			continue
		}
		if run >= 0 {
			zeroPages(d.mem[0][run*pageEntries*4 : pg*pageEntries*4])
			run = -1
		}
	}
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
	d.gPageLive[g/groupsPerPage]++
	d.groupsUsed++
	return g
}

// growGroups takes the lowest unused block and puts its groups on the
// free list (lowest index last, used first).
func (d *dir24) growGroups() {
	for b := range maxGroupBlocks {
		if b < len(d.blockUsed) && d.blockUsed[b] {
			continue
		}
		if need := (b + 1) * groupsPerBlock; len(d.gn) < need {
			d.gn = append(d.gn, make([]uint16, need-len(d.gn))...)
			d.blockLive = append(d.blockLive, make([]int32, b+1-len(d.blockLive))...)
			d.blockUsed = append(d.blockUsed, make([]bool, b+1-len(d.blockUsed))...)
			d.gPageLive = append(d.gPageLive, make([]uint8, need/groupsPerPage-len(d.gPageLive))...)
			d.gPageDrop = append(d.gPageDrop, make([]uint64, need/groupsPerPage/64-len(d.gPageDrop))...)
		}
		d.blockUsed[b] = true
		d.blocks++
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
// reusable, and the pages of groups all free are given back to the kernel
// (a block whose groups are all free no longer counts as taken); so are
// the first-level pages left all zero since.
func (d *dir24) reclaim() {
	d.dropPages()
	released := false
	for _, g := range d.gReady {
		if d.gPageLive[g/groupsPerPage]--; d.gPageLive[g/groupsPerPage] == 0 {
			d.gPageDrop[g/groupsPerPage/64] |= 1 << (g / groupsPerPage % 64)
		}
		b := g / groupsPerBlock
		if d.blockLive[b]--; d.blockLive[b] == 0 {
			d.blockUsed[b] = false
			d.blocks--
			released = true
		}
	}
	d.dropGroupPages()
	d.gFree = append(d.gFree, d.gReady...)
	d.gReady = append(d.gReady[:0], d.gLimbo...)
	d.gLimbo = d.gLimbo[:0]
	if !released {
		return
	}
	keep := d.gFree[:0]
	for _, g := range d.gFree {
		if d.blockUsed[g/groupsPerBlock] {
			keep = append(keep, g)
		}
	}
	d.gFree = keep
	if len(d.gFree) == 0 && d.groupsUsed == 0 && len(d.gReady) == 0 {
		// All gone: give the bookkeeping back too.
		d.gFree, d.gn, d.blockLive, d.blockUsed, d.gPageLive, d.gPageDrop = nil, nil, nil, nil, nil, nil
	}
}

// dropGroupPages gives back the pages of groups marked in gPageDrop,
// coalescing runs into one madvise each. A reader still holding a group
// index from before the quarantine reads zero there (the default route).
func (d *dir24) dropGroupPages() {
	const pageBytes = groupsPerPage * 256 * 4
	run := -1
	for pg := range len(d.gPageDrop)*64 + 1 {
		if pg < len(d.gPageDrop)*64 && d.gPageDrop[pg/64]&(1<<(pg%64)) != 0 {
			d.gPageDrop[pg/64] &^= 1 << (pg % 64)
			if run < 0 {
				run = pg
			}
			continue
		}
		if run >= 0 {
			zeroPages(d.mem[1][run*pageBytes : pg*pageBytes])
			run = -1
		}
	}
}

// insert sets the result of IPv4 prefix p (masked) to res (non-zero).
func (d *dir24) insert(p netip.Prefix, res uint32) {
	if res&grpBit != 0 && !d.ecmp.Load() {
		d.ecmp.Store(true) // before any entry names the group (lookupBatch)
	}
	bits := p.Bits()
	if bits == 0 {
		d.def.Store(res)
		d.defEnt.Store(encodeEnt(res, 0))
		return
	}
	a := addr32(p)
	e := encodeEnt(res, bits)
	if bits <= 24 {
		d.cover(a>>8, 1<<(24-bits), e, bits)
		return
	}
	i := a >> 8
	o := d.tbl[i]
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
		d.setL1(i, entExt|g<<entShift) // the group is complete: publish it
	}
}

// cover writes e (a prefix of length bits <= 24) over first-level
// entries [i0, i0+n) and the groups they name, where nothing longer holds
// them.
func (d *dir24) cover(i0, n uint32, e uint32, bits int) {
	ents := d.tbl[i0 : i0+n]
	for k := range ents {
		o := ents[k]
		switch {
		case o&entExt != 0:
			d.groupCover(o>>entShift, e, bits)
		case o != e && int(o&entPlen) <= bits:
			d.setL1(i0+uint32(k), e)
		}
	}
}

// groupCover writes e over the entries of group g whose prefix is not
// longer than bits.
func (d *dir24) groupCover(g uint32, e uint32, bits int) {
	grp := d.groupAt(g)
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
	if bits <= 24 {
		d.uncover(a>>8, 1<<(24-bits), r, bits)
		return
	}
	i := a >> 8
	o := d.tbl[i]
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
		d.setL1(i, grp[0])
		d.freeGroup(g)
	}
}

// uncover replaces the entries of first-level entries [i0, i0+n) (and
// the groups they name) that a prefix of length bits <= 24 wrote by r.
func (d *dir24) uncover(i0, n uint32, r uint32, bits int) {
	ents := d.tbl[i0 : i0+n]
	for k := range ents {
		o := ents[k]
		switch {
		case o&entExt != 0:
			d.groupUncover(o>>entShift, r, bits)
		case o != r && int(o&entPlen) == bits:
			d.setL1(i0+uint32(k), r)
		}
	}
}

// groupUncover writes r over the entries of group g from a prefix of
// length bits.
func (d *dir24) groupUncover(g uint32, r uint32, bits int) {
	grp := d.groupAt(g)
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
