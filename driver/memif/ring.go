package memif

import (
	"sync/atomic"
	"unsafe"
)

// Ring layout (memif 2.0): a 128-byte header of two cache lines — cookie
// (u32) at 0, flags (u16) at 4, head (u16) at 6; tail (u16) at 64 — then
// 1<<log2 descriptors of 16 bytes.
const (
	ringHeaderSize = 128
	descSize       = 16
	offCookie      = 0
	offFlagsHead   = 4 // flags in the low half of this little-endian word, head in the high half
	offTail        = 64

	// ringFlagMaskInt in a ring's flags asks its producer not to signal the
	// ring's eventfd: the consumer polls.
	ringFlagMaskInt = 1
	// descFlagNext marks a descriptor whose frame continues in the next one.
	descFlagNext = 1
)

// ringBytes is the size of a ring of 1<<log2 descriptors.
func ringBytes(log2 uint8) int { return ringHeaderSize + descSize<<log2 }

// desc is one buffer descriptor, as laid out in shared memory.
type desc struct {
	Flags    uint16
	Region   uint16
	Length   uint32
	Offset   uint32
	Metadata uint32
}

// head returns the descriptor's flags (bits 0-15), region (16-31) and
// length (32-63) with one load: each is read once, whatever the peer
// writes meanwhile. (memif is little-endian.)
func (d *desc) head() uint64 { return *(*uint64)(unsafe.Pointer(d)) }

// post writes a descriptor without flags: region, length and offset, the
// first three in one store.
func (d *desc) post(region uint16, length, offset uint32) {
	*(*uint64)(unsafe.Pointer(d)) = uint64(region)<<16 | uint64(length)<<32
	d.Offset = offset
}

// ring is a view of one descriptor ring in shared memory. Head and tail are
// 16-bit counters that wrap; a slot is counter & mask. Loads and stores of
// head, tail and flags are atomic on their 32-bit words, so that the peer's
// 16-bit accesses to the neighbouring half never race ours.
type ring struct {
	base unsafe.Pointer // the ring header, 4-byte aligned
	size uint16         // descriptors; a power of two up to 1<<14
	mask uint16
}

// newRing returns the ring at off in mem; the caller checked that it fits
// and is 4-byte aligned.
func newRing(mem []byte, off int, log2 uint8) ring {
	return ring{base: unsafe.Pointer(&mem[off]), size: 1 << log2, mask: 1<<log2 - 1}
}

func (r *ring) word(off uintptr) *uint32 { return (*uint32)(unsafe.Add(r.base, off)) }

func (r *ring) cookie() uint32 { return atomic.LoadUint32(r.word(offCookie)) }

func (r *ring) head() uint16 { return uint16(atomic.LoadUint32(r.word(offFlagsHead)) >> 16) }

func (r *ring) flags() uint16 { return uint16(atomic.LoadUint32(r.word(offFlagsHead))) }

func (r *ring) tail() uint16 { return uint16(atomic.LoadUint32(r.word(offTail))) }

// setHead publishes head (release): the descriptors written before it are
// visible to the peer once it reads the new head.
func (r *ring) setHead(h uint16) {
	w := r.word(offFlagsHead)
	for {
		old := atomic.LoadUint32(w)
		if atomic.CompareAndSwapUint32(w, old, old&0xffff|uint32(h)<<16) {
			return
		}
	}
}

// setFlags replaces the flags, keeping head.
func (r *ring) setFlags(f uint16) {
	w := r.word(offFlagsHead)
	for {
		old := atomic.LoadUint32(w)
		if atomic.CompareAndSwapUint32(w, old, old&^0xffff|uint32(f)) {
			return
		}
	}
}

// setTail publishes tail (release).
func (r *ring) setTail(t uint16) {
	w := r.word(offTail)
	for {
		old := atomic.LoadUint32(w)
		if atomic.CompareAndSwapUint32(w, old, old&^0xffff|uint32(t)) {
			return
		}
	}
}

// desc returns the descriptor of counter slot s.
func (r *ring) desc(s uint16) *desc {
	return (*desc)(unsafe.Add(r.base, ringHeaderSize+uintptr(s&r.mask)*descSize))
}

// init writes a fresh header: cookie, no flags, head and tail zero.
func (r *ring) init() {
	atomic.StoreUint32(r.word(offTail), 0)
	atomic.StoreUint32(r.word(offFlagsHead), 0)
	atomic.StoreUint32(r.word(offCookie), Cookie)
}
