package mem

import (
	"sync/atomic"

	"github.com/vecnet/vecnet/pkt"
)

// slotSize is the room of one ring slot: the largest frame a packet buffer
// holds past its headroom, so every frame that can be sent can be received.
const slotSize = pkt.DataCap

// ring is a bounded single-producer single-consumer queue of frames, each
// copied into a fixed slot of one byte region allocated at construction, so
// moving a frame never allocates. The producer and the consumer may run on
// different goroutines (two workers, or a worker and a test): they meet only
// at tail and head, published once per batch with atomics.
type ring struct {
	data []byte   // len(lens) slots of slotSize bytes; slot s is written by the producer while s is free
	lens []uint16 // frame length per slot, written with the slot
	mask uint32   // len(lens)-1; len(lens) is a power of two

	tail atomic.Uint32 // next slot to fill; written by the producer only
	head atomic.Uint32 // next slot to drain; written by the consumer only
}

// newRing returns a ring of at least n slots (rounded up to a power of two).
func newRing(n int) *ring {
	size := 1
	for size < n {
		size <<= 1
	}
	return &ring{
		data: make([]byte, size*slotSize),
		lens: make([]uint16, size),
		mask: uint32(size - 1),
	}
}

// slot returns the whole byte region of slot s (taken modulo the size).
func (r *ring) slot(s uint32) []byte {
	off := int(s&r.mask) * slotSize
	return r.data[off : off+slotSize : off+slotSize]
}

// producer is the producer's cached view of a ring for one batch: it loads
// head once, fills slots, and publishes tail once in commit.
type producer struct {
	r    *ring
	tail uint32 // next slot to fill (not yet published)
	free uint32 // slots known free from tail on
}

// produce starts a batch on r. Call it on the producer side only.
func produce(r *ring) producer {
	t := r.tail.Load() // our own field: no other writer
	return producer{r: r, tail: t, free: uint32(len(r.lens)) - (t - r.head.Load())}
}

// put copies frame into the next slot and reports false if the ring is full.
// frame must be at most slotSize bytes.
func (p *producer) put(frame []byte) bool {
	if p.free == 0 {
		return false
	}
	s := p.r.slot(p.tail)
	copy(s, frame)
	p.r.lens[p.tail&p.r.mask] = uint16(len(frame))
	p.tail++
	p.free--
	return true
}

// last returns the bytes of the slot most recently put in this batch, for
// faults that change a frame after it was copied.
func (p *producer) last() []byte {
	t := p.tail - 1
	return p.r.slot(t)[:p.r.lens[t&p.r.mask]]
}

// setLastLen shortens the frame most recently put.
func (p *producer) setLastLen(n int) { p.r.lens[(p.tail-1)&p.r.mask] = uint16(n) }

// commit publishes every slot put in the batch to the consumer.
func (p *producer) commit() { p.r.tail.Store(p.tail) }

// pending returns the first unread slot and how many frames are ready.
// Call it on the consumer side only.
func (r *ring) pending() (head, n uint32) {
	h := r.head.Load() // our own field: no other writer
	return h, r.tail.Load() - h
}

// frame returns the frame in slot s. The consumer owns it until release.
func (r *ring) frame(s uint32) []byte { return r.slot(s)[:r.lens[s&r.mask]] }

// release hands every slot before head back to the producer.
func (r *ring) release(head uint32) { r.head.Store(head) }
