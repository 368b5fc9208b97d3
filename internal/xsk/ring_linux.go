package xsk

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring holds what the four ring kinds share: pointers to the index and flag
// words in the mapped ring, and the indices this side caches.
//
// Indices are free-running uint32 counters; an entry lives at index&mask, and
// differences between indices stay correct across wrap-around.
type ring struct {
	// producer points at the ring's shared producer index. It is written
	// (store-release) by the producing side: user space for the fill and TX
	// rings, the kernel for the RX and completion rings.
	producer *uint32
	// consumer points at the ring's shared consumer index. It is written
	// (store-release) by the consuming side: the kernel for the fill and TX
	// rings, user space for the RX and completion rings.
	consumer *uint32
	// flags points at the ring's flags word (XDP_RING_NEED_WAKEUP). Written
	// by the kernel only.
	flags *uint32

	// mask is size-1. Set at creation, read-only after.
	mask uint32
	// size is the number of entries (a power of two). Read-only.
	size uint32

	// cached is the other side's index as last loaded from shared memory:
	// the consumer index on a producer ring, the producer index on a
	// consumer ring. Written by user space only.
	cached uint32
	// next is the index of the next entry to hand out: to Reserve on a
	// producer ring, to Peek on a consumer ring. Written by user space only.
	next uint32
	// published is the value this side last stored into its own shared
	// index (producer or consumer). Written by user space only.
	published uint32

	// mem is the mapping the pointers point into; nil for test rings over
	// Go memory. Written at creation and by unmap.
	mem []byte
}

// init points r at the index words and returns a pointer to the first
// entry, for a ring laid out in mem at off with size entries.
func (r *ring) init(mem []byte, off unix.XDPRingOffset, size uint32) unsafe.Pointer {
	base := unsafe.Pointer(unsafe.SliceData(mem))
	r.producer = (*uint32)(unsafe.Add(base, off.Producer))
	r.consumer = (*uint32)(unsafe.Add(base, off.Consumer))
	r.flags = (*uint32)(unsafe.Add(base, off.Flags))
	r.size = size
	r.mask = size - 1
	// Start from the indices found in memory (zero on a fresh kernel ring) as
	// for a producer ring; consumer rings then call consumerInit.
	r.published = atomic.LoadUint32(r.producer)
	r.next = r.published
	r.cached = atomic.LoadUint32(r.consumer)
	return unsafe.Add(base, off.Desc)
}

// reserve claims up to n free entries on a producer ring. It reloads the
// consumer index only when the cached value does not show n free entries.
func (r *ring) reserve(n uint32) (start, got uint32) {
	free := r.size - (r.next - r.cached)
	if free < n {
		r.cached = atomic.LoadUint32(r.consumer)
		free = r.size - (r.next - r.cached)
	}
	got = min(n, free)
	start = r.next
	r.next += got
	return start, got
}

// submit publishes the next n reserved entries to the consumer.
func (r *ring) submit(n uint32) {
	r.published += n
	atomic.StoreUint32(r.producer, r.published)
}

// cancel gives back the last n reserved, unsubmitted entries.
func (r *ring) cancel(n uint32) { r.next -= n }

// peek claims up to max filled entries on a consumer ring. It reloads the
// producer index only when the cached value does not show max entries.
func (r *ring) peek(max uint32) (start, n uint32) {
	avail := r.cached - r.next
	if avail < max {
		r.cached = atomic.LoadUint32(r.producer)
		avail = r.cached - r.next
	}
	n = min(max, avail)
	start = r.next
	r.next += n
	return start, n
}

// release returns the next n peeked entries to the producer.
func (r *ring) release(n uint32) {
	r.published += n
	atomic.StoreUint32(r.consumer, r.published)
}

func (r *ring) needsWakeup() bool {
	return atomic.LoadUint32(r.flags)&unix.XDP_RING_NEED_WAKEUP != 0
}

func (r *ring) unmap() error {
	if r.mem == nil {
		return nil
	}
	err := unix.Munmap(r.mem)
	r.mem = nil
	return err
}

// FillRing hands empty chunks to the kernel to receive into. User space
// produces, the kernel consumes. Use: Reserve, Set each reserved index,
// Submit. Not safe for concurrent use.
type FillRing struct {
	ring
	// addrs are the ring entries: chunk addresses. Written by user space,
	// read by the kernel.
	addrs []uint64
}

// Reserve claims up to n free entries, returning the first index and how
// many were claimed (possibly 0). Indices start..start+got-1 must each be
// Set and then published with Submit (or given back with Cancel).
func (r *FillRing) Reserve(n uint32) (start, got uint32) { return r.reserve(n) }

// Set writes chunk address addr into reserved entry i. The kernel aligns
// addr down to its chunk.
func (r *FillRing) Set(i uint32, addr uint64) { r.addrs[i&r.mask] = addr }

// Submit publishes the next n reserved entries to the kernel.
func (r *FillRing) Submit(n uint32) { r.submit(n) }

// Cancel gives back the last n reserved entries that were not submitted.
func (r *FillRing) Cancel(n uint32) { r.cancel(n) }

// NeedsWakeup reports whether the kernel asked to be woken (by poll or
// recvfrom, see [Socket.WakeupRX]) to pick up fill entries. Meaningful
// only when the socket was bound with need-wakeup.
func (r *FillRing) NeedsWakeup() bool { return r.needsWakeup() }

// Size returns the number of entries in the ring.
func (r *FillRing) Size() uint32 { return r.size }

// Outstanding returns how many submitted entries the kernel has not yet
// released. The kernel publishes its consumer index only when it has used
// up the batch it saw at its last look, so this over-counts by up to that
// batch. It loads the shared consumer index once.
func (r *FillRing) Outstanding() uint32 {
	r.cached = atomic.LoadUint32(r.consumer)
	return r.published - r.cached
}

// CompRing returns chunks whose transmission the kernel has finished. The
// kernel produces, user space consumes. Use: Peek, Addr for each index,
// Release. Not safe for concurrent use.
type CompRing struct {
	ring
	// addrs are the ring entries: addresses of sent descriptors. Written by
	// the kernel, read by user space.
	addrs []uint64
}

// Peek claims up to max completed entries, returning the first index and
// the count (possibly 0). Read them with Addr, then Release them.
func (r *CompRing) Peek(max uint32) (start, n uint32) { return r.peek(max) }

// Addr returns the address in entry i, as it was given in the TX descriptor.
func (r *CompRing) Addr(i uint32) uint64 { return r.addrs[i&r.mask] }

// Release returns the next n peeked entries to the kernel.
func (r *CompRing) Release(n uint32) { r.release(n) }

// Size returns the number of entries in the ring.
func (r *CompRing) Size() uint32 { return r.size }

// RXRing carries descriptors of received frames. The kernel produces, user
// space consumes. Use: Peek, Desc for each index, Release. The chunk a
// descriptor names belongs to user space from Peek on, whatever Release
// does; it goes back to the kernel only through the fill ring. Not safe for
// concurrent use.
type RXRing struct {
	ring
	// descs are the ring entries. Written by the kernel, read by user space.
	descs []unix.XDPDesc
}

// Peek claims up to max received descriptors, returning the first index and
// the count (possibly 0).
func (r *RXRing) Peek(max uint32) (start, n uint32) { return r.peek(max) }

// Desc returns descriptor i: Addr is chunk base + offset of the frame's
// first byte, Len its length.
func (r *RXRing) Desc(i uint32) unix.XDPDesc { return r.descs[i&r.mask] }

// Release returns the next n peeked entries to the kernel.
func (r *RXRing) Release(n uint32) { r.release(n) }

// Unpeek gives back the last n entries Peek claimed and the caller did not
// consume, so that the next Peek returns them again. Call it before Release.
func (r *RXRing) Unpeek(n uint32) { r.next -= n }

// Size returns the number of entries in the ring.
func (r *RXRing) Size() uint32 { return r.size }

// Ready reports whether the ring holds entries Peek has not claimed: no
// load of the shared producer index when the cached one shows some, one
// atomic load otherwise. It claims nothing.
func (r *RXRing) Ready() bool {
	if r.cached != r.next {
		return true
	}
	r.cached = atomic.LoadUint32(r.producer)
	return r.cached != r.next
}

// TXRing carries descriptors of frames to send. User space produces, the
// kernel consumes. Use: Reserve, Set each reserved index, Submit, then
// [Socket.Wakeup] if NeedsWakeup. A chunk handed to TX belongs to the kernel
// until its address comes back on the completion ring. Not safe for
// concurrent use.
type TXRing struct {
	ring
	// descs are the ring entries. Written by user space, read by the kernel.
	descs []unix.XDPDesc
}

// Reserve claims up to n free entries; see [FillRing.Reserve].
func (r *TXRing) Reserve(n uint32) (start, got uint32) { return r.reserve(n) }

// Set writes descriptor d into reserved entry i. The frame d.Addr..+d.Len
// must lie within one chunk.
func (r *TXRing) Set(i uint32, d unix.XDPDesc) { r.descs[i&r.mask] = d }

// Submit publishes the next n reserved entries to the kernel.
func (r *TXRing) Submit(n uint32) { r.submit(n) }

// Cancel gives back the last n reserved entries that were not submitted.
func (r *TXRing) Cancel(n uint32) { r.cancel(n) }

// NeedsWakeup reports whether the kernel must be kicked with
// [Socket.Wakeup] to send submitted entries. Meaningful only when the socket
// was bound with need-wakeup.
func (r *TXRing) NeedsWakeup() bool { return r.needsWakeup() }

// Size returns the number of entries in the ring.
func (r *TXRing) Size() uint32 { return r.size }

// Pending returns how many submitted descriptors the kernel has not yet
// consumed. In copy mode the kernel sends at most 32 descriptors per
// wake-up, so a sender kicks until Pending stops falling.
func (r *TXRing) Pending() uint32 {
	r.cached = atomic.LoadUint32(r.consumer)
	return r.published - r.cached
}

// newFillRing and friends build rings over mem, which is either a kernel
// mapping or (in tests) Go memory laid out the same way.

func newFillRing(mem []byte, off unix.XDPRingOffset, size uint32) *FillRing {
	r := &FillRing{}
	p := r.init(mem, off, size)
	r.addrs = unsafe.Slice((*uint64)(p), size)
	return r
}

func newCompRing(mem []byte, off unix.XDPRingOffset, size uint32) *CompRing {
	r := &CompRing{}
	p := r.init(mem, off, size)
	r.consumerInit()
	r.addrs = unsafe.Slice((*uint64)(p), size)
	return r
}

func newRXRing(mem []byte, off unix.XDPRingOffset, size uint32) *RXRing {
	r := &RXRing{}
	p := r.init(mem, off, size)
	r.consumerInit()
	r.descs = unsafe.Slice((*unix.XDPDesc)(p), size)
	return r
}

func newTXRing(mem []byte, off unix.XDPRingOffset, size uint32) *TXRing {
	r := &TXRing{}
	p := r.init(mem, off, size)
	r.descs = unsafe.Slice((*unix.XDPDesc)(p), size)
	return r
}

// consumerInit sets the cached indices of a ring this side consumes.
func (r *ring) consumerInit() {
	r.published = atomic.LoadUint32(r.consumer)
	r.next = r.published
	r.cached = atomic.LoadUint32(r.producer)
}
