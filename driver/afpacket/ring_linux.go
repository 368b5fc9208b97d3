package afpacket

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxRing is the TPACKET_V2 frame ring of one socket: frames slots of
// frameSize bytes, back to back (a block holds a whole number of them). The
// kernel owns a slot while its status is TP_STATUS_KERNEL and hands it over,
// and wakes the socket, as soon as it has written one frame into it
// (TP_STATUS_USER): no block waits for company or for a retire timer. The
// port owns the slot from then until it stores TP_STATUS_KERNEL again. All
// fields are written by the owning port only.
type rxRing struct {
	mem       []byte // the RX part of the socket's mapping
	frameSize int
	frames    int
	cur       int // slot the port reads next
}

// next returns the header of the next ready frame and the slot's offset in
// the ring, or nil when the kernel has not filled it yet. It makes no
// system call.
func (r *rxRing) next() (*unix.Tpacket2Hdr, int) {
	off := r.cur * r.frameSize
	h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&r.mem[off]))
	if atomic.LoadUint32(&h.Status)&unix.TP_STATUS_USER == 0 {
		return nil, 0
	}
	return h, off
}

// advance hands the frame next returned back to the kernel and moves to the
// next slot.
func (r *rxRing) advance(h *unix.Tpacket2Hdr) {
	atomic.StoreUint32(&h.Status, unix.TP_STATUS_KERNEL)
	r.cur++
	if r.cur == r.frames {
		r.cur = 0
	}
}

// txRing is the frame-based TX ring of one socket. A slot belongs to the
// port while its status is TP_STATUS_AVAILABLE (or TP_STATUS_WRONG_FORMAT,
// a frame the kernel rejected), and to the kernel from TP_STATUS_SEND_REQUEST
// until it has sent the frame. head is written by the owning port only and
// follows the kernel's own cursor, which stops at the first slot not
// requested.
type txRing struct {
	mem       []byte // the TX part of the socket's mapping
	frameSize int
	frames    int
	head      int
}

// slot returns the header of the next slot and reports whether the port owns it.
func (t *txRing) slot() (*unix.Tpacket2Hdr, bool) {
	h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&t.mem[t.head*t.frameSize]))
	s := atomic.LoadUint32(&h.Status)
	return h, s == unix.TP_STATUS_AVAILABLE || s == unix.TP_STATUS_WRONG_FORMAT
}

// data returns the payload area of the slot at head.
func (t *txRing) data() []byte {
	base := t.head * t.frameSize
	return t.mem[base+txDataOff : base+t.frameSize]
}

// push hands the slot at head to the kernel with a frame of n bytes.
func (t *txRing) push(h *unix.Tpacket2Hdr, n int) {
	h.Len, h.Snaplen = uint32(n), uint32(n)
	atomic.StoreUint32(&h.Status, unix.TP_STATUS_SEND_REQUEST)
	t.head++
	if t.head == t.frames {
		t.head = 0
	}
}
