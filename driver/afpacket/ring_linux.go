package afpacket

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Layout of a TPACKET_V3 RX block: struct tpacket_block_desc is version and
// offset_to_priv (8 bytes) followed by struct tpacket_hdr_v1.
const blockHdrOff = 8

// blockRing is the TPACKET_V3 block ring of one socket (RingBlocks). The
// kernel owns a block while its status is TP_STATUS_KERNEL; the port owns
// it from the moment it reads TP_STATUS_USER until it stores
// TP_STATUS_KERNEL again. The kernel hands a block over when it is full or
// when its retire timer fires. All fields are written by the owning port
// only.
type blockRing struct {
	mem       []byte // the RX part of the socket's mapping
	blockSize int
	blocks    int

	cur  int    // block the port reads next or is reading
	open bool   // the port owns block cur and is inside it
	left uint32 // frames of block cur not yet consumed
	off  int    // offset of the next frame from the start of the ring
}

// block returns the header of block b.
func (r *blockRing) block(b int) *unix.TpacketHdrV1 {
	return (*unix.TpacketHdrV1)(unsafe.Pointer(&r.mem[b*r.blockSize+blockHdrOff]))
}

// next returns the next frame header and its offset in the ring, opening
// the next ready block if needed, or nil when no frame is ready. It makes no
// system call.
func (r *blockRing) next() (*unix.Tpacket3Hdr, int) {
	if !r.open {
		h := r.block(r.cur)
		for {
			if atomic.LoadUint32(&h.Block_status)&unix.TP_STATUS_USER == 0 {
				return nil, 0
			}
			if h.Num_pkts != 0 {
				break
			}
			r.release() // an empty retired block: give it straight back
			h = r.block(r.cur)
		}
		r.open, r.left = true, h.Num_pkts
		r.off = r.cur*r.blockSize + int(h.Offset_to_first_pkt)
	}
	f := (*unix.Tpacket3Hdr)(unsafe.Pointer(&r.mem[r.off]))
	return f, r.off
}

// advance consumes the frame next returned, and hands the block back to the
// kernel after its last frame.
func (r *blockRing) advance(f *unix.Tpacket3Hdr) {
	r.left--
	if r.left == 0 {
		r.release()
		return
	}
	r.off += int(f.Next_offset)
}

// release returns block cur to the kernel and moves to the next one.
func (r *blockRing) release() {
	atomic.StoreUint32(&r.block(r.cur).Block_status, unix.TP_STATUS_KERNEL)
	r.open = false
	r.cur++
	if r.cur == r.blocks {
		r.cur = 0
	}
}

// frameRing is the TPACKET_V2 frame ring of one socket (RingFrames):
// frames slots of frameSize bytes, back to back (a block holds a whole
// number of them). The kernel owns a slot while its status is
// TP_STATUS_KERNEL and hands it over, and wakes the socket, as soon as it
// has written one frame into it (TP_STATUS_USER): no block waits for
// company or for a retire timer. The port owns the slot from then until it
// stores TP_STATUS_KERNEL again. All fields are written by the owning port
// only.
type frameRing struct {
	mem       []byte // the RX part of the socket's mapping
	frameSize int
	frames    int
	cur       int // slot the port reads next
}

// next returns the header of the next ready frame and the slot's offset in
// the ring, or nil when the kernel has not filled it yet. It makes no
// system call.
func (r *frameRing) next() (*unix.Tpacket2Hdr, int) {
	off := r.cur * r.frameSize
	h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&r.mem[off]))
	if atomic.LoadUint32(&h.Status)&unix.TP_STATUS_USER == 0 {
		return nil, 0
	}
	return h, off
}

// advance hands the frame next returned back to the kernel and moves to the
// next slot.
func (r *frameRing) advance(h *unix.Tpacket2Hdr) {
	atomic.StoreUint32(&h.Status, unix.TP_STATUS_KERNEL)
	r.cur++
	if r.cur == r.frames {
		r.cur = 0
	}
}

// txRing is the frame-based TX ring of one socket (TPACKET_V3 transmit is
// frame-based like V2, with a different header). A slot belongs to the
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
	v3        bool // tpacket3_hdr slots (RingBlocks), else tpacket2_hdr
	dataOff   int  // where a frame's data starts in a slot
}

// slot returns the header of the slot at head and reports whether the
// port owns it.
func (t *txRing) slot() (unsafe.Pointer, bool) {
	h := unsafe.Pointer(&t.mem[t.head*t.frameSize])
	s := atomic.LoadUint32(t.status(h))
	return h, s == unix.TP_STATUS_AVAILABLE || s == unix.TP_STATUS_WRONG_FORMAT
}

// status returns the status word of slot header h: tp_status leads
// tpacket2_hdr but follows five other words in tpacket3_hdr.
func (t *txRing) status(h unsafe.Pointer) *uint32 {
	if t.v3 {
		return &(*unix.Tpacket3Hdr)(h).Status
	}
	return &(*unix.Tpacket2Hdr)(h).Status
}

// data returns the payload area of the slot at head.
func (t *txRing) data() []byte {
	base := t.head * t.frameSize
	return t.mem[base+t.dataOff : base+t.frameSize]
}

// push hands the slot at head, whose header is h, to the kernel with a
// frame of n bytes.
func (t *txRing) push(h unsafe.Pointer, n int) {
	if t.v3 {
		h3 := (*unix.Tpacket3Hdr)(h)
		h3.Len, h3.Snaplen, h3.Next_offset = uint32(n), uint32(n), 0
	} else {
		h2 := (*unix.Tpacket2Hdr)(h)
		h2.Len, h2.Snaplen = uint32(n), uint32(n)
	}
	atomic.StoreUint32(t.status(h), unix.TP_STATUS_SEND_REQUEST)
	t.head++
	if t.head == t.frames {
		t.head = 0
	}
}
