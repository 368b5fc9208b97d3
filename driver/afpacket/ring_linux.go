package afpacket

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Layout of a TPACKET_V3 RX block: struct tpacket_block_desc is version and
// offset_to_priv (8 bytes) followed by struct tpacket_hdr_v1.
const blockHdrOff = 8

// rxRing is the TPACKET_V3 block ring of one socket. The kernel owns a block
// while its status is TP_STATUS_KERNEL; the port owns it from the moment it
// reads TP_STATUS_USER until it stores TP_STATUS_KERNEL again. All fields are
// written by the owning port only.
type rxRing struct {
	mem       []byte // the RX part of the socket's mapping
	blockSize int
	blocks    int

	cur  int    // block the port reads next or is reading
	open bool   // the port owns block cur and is inside it
	left uint32 // frames of block cur not yet consumed
	off  int    // offset of the next frame from the start of the ring
}

// block returns the header of block b.
func (r *rxRing) block(b int) *unix.TpacketHdrV1 {
	return (*unix.TpacketHdrV1)(unsafe.Pointer(&r.mem[b*r.blockSize+blockHdrOff]))
}

// next returns the next frame header and its offset in the ring, opening
// the next ready block if needed, or nil when no frame is ready. It makes no
// system call.
func (r *rxRing) next() (*unix.Tpacket3Hdr, int) {
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
func (r *rxRing) advance(f *unix.Tpacket3Hdr) {
	r.left--
	if r.left == 0 {
		r.release()
		return
	}
	r.off += int(f.Next_offset)
}

// release returns block cur to the kernel and moves to the next one.
func (r *rxRing) release() {
	atomic.StoreUint32(&r.block(r.cur).Block_status, unix.TP_STATUS_KERNEL)
	r.open = false
	r.cur++
	if r.cur == r.blocks {
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
func (t *txRing) slot() (*unix.Tpacket3Hdr, bool) {
	h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&t.mem[t.head*t.frameSize]))
	s := atomic.LoadUint32(&h.Status)
	return h, s == unix.TP_STATUS_AVAILABLE || s == unix.TP_STATUS_WRONG_FORMAT
}

// data returns the payload area of the slot at head.
func (t *txRing) data() []byte {
	base := t.head * t.frameSize
	return t.mem[base+txDataOff : base+t.frameSize]
}

// push hands the slot at head to the kernel with a frame of n bytes.
func (t *txRing) push(h *unix.Tpacket3Hdr, n int) {
	h.Len, h.Snaplen, h.Next_offset = uint32(n), uint32(n), 0
	atomic.StoreUint32(&h.Status, unix.TP_STATUS_SEND_REQUEST)
	t.head++
	if t.head == t.frames {
		t.head = 0
	}
}
