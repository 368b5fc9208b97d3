package stack

import (
	"sync/atomic"

	"github.com/vecnet/vecnet/pkt"
)

// Ring is a bounded single-producer single-consumer queue of buffer
// indices (a Lamport queue with cached indices): the worker <-> application
// hand-off of every transport's sockets. The producer alone writes tail and
// cachedHead; the consumer alone writes head and cachedTail. Publishing an
// index with the release store of tail hands the buffer (and its Meta and
// bytes) to the consumer.
type Ring struct {
	mask uint32
	buf  []pkt.Index

	_          [64]byte
	tail       atomic.Uint32 // written by the producer
	cachedHead uint32        // producer's copy of head
	_          [56]byte
	head       atomic.Uint32 // written by the consumer
	cachedTail uint32        // consumer's copy of tail
	_          [56]byte
}

// NewRing returns a ring holding up to size (rounded up to a power of two) indices.
func NewRing(size int) *Ring {
	n := 1
	for n < size {
		n <<= 1
	}
	return &Ring{mask: uint32(n - 1), buf: make([]pkt.Index, n)}
}

// Push appends i; it reports false when the ring is full. Producer only.
func (r *Ring) Push(i pkt.Index) bool {
	t := r.tail.Load()
	if t-r.cachedHead > r.mask {
		r.cachedHead = r.head.Load()
		if t-r.cachedHead > r.mask {
			return false
		}
	}
	r.buf[t&r.mask] = i
	r.tail.Store(t + 1)
	return true
}

// Pop removes the oldest index; it reports false when the ring is empty.
// Consumer only.
func (r *Ring) Pop() (pkt.Index, bool) {
	h := r.head.Load()
	if h == r.cachedTail {
		r.cachedTail = r.tail.Load()
		if h == r.cachedTail {
			return 0, false
		}
	}
	i := r.buf[h&r.mask]
	r.head.Store(h + 1)
	return i, true
}

// Empty reports whether the ring holds nothing; any goroutine may call it
// (the answer may be stale by the time it returns).
func (r *Ring) Empty() bool { return r.head.Load() == r.tail.Load() }
