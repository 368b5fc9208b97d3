package afpacket

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/offload"
	"github.com/vecnet/vecnet/pkt"
)

// ethHdrLen is the shortest frame a port delivers: an Ethernet header.
const ethHdrLen = 14

// Port is one AF_PACKET socket of an Interface: one RX ring (blocks or
// frames, Config.Ring) and one TX frame ring. It is owned by one worker and is not safe for concurrent use.
type Port struct {
	fd    int
	queue int
	mmap  []byte    // the whole mapping: RX ring then TX ring
	rx    blockRing // RingBlocks
	rxf   frameRing // RingFrames
	tx    txRing
	stats driver.Stats
	// offload counts what offload.Receive did and could not do.
	offload offload.Counters
	// txPending is set when the last flush failed (EAGAIN, ENOBUFS,
	// ENETDOWN...): requested slots are waiting in the TX ring.
	txPending bool
	// big receives the frames too large for a ring slot (bigFrame); held
	// is the length of the one read for the current slot, or 0.
	big  []byte
	held int
}

var (
	_ driver.Port   = (*Port)(nil)
	_ driver.Waiter = (*Port)(nil)

	_ offload.Reporter = (*Port)(nil)
)

// Recv copies up to v.Free() ready frames into fresh buffers from c and
// appends them to v. It makes no system call, except for a frame larger
// than a frame-ring slot, which it reads from the socket (see bigFrame).
// Each frame comes with a virtio_net_hdr (PACKET_VNET_HDR): a GSO
// super-frame (up to 64 KiB, from a peer with TSO/GSO on) is segmented into
// slots as the kernel's GSO would, and a partial checksum (CHECKSUM_PARTIAL,
// a peer with TX checksum offload on) is completed; frames whose checksum
// was completed, or that the kernel validated, carry pkt.FlagL4ChecksumOK.
// A super-frame waits (in the ring, or read and held by the port) when v
// has too little room for its segments. Frames the kernel truncated, and
// runts, count in RxErrors; frames offload.Receive rejects count under
// their offload error (OffloadErrors) and in RxErrors, or RxDrops when c
// has no buffer. All of them are consumed.
func (p *Port) Recv(c *pkt.Cache, v *pkt.Vector) int {
	start := v.Len
	if p.rxf.mem != nil {
		p.recvFrames(c, v)
	} else {
		p.recvBlocks(c, v)
	}
	got := v.Len - start
	p.stats.RxPackets += uint64(got)
	return got
}

// recvBlocks is Recv from the TPACKET_V3 block ring.
func (p *Port) recvBlocks(c *pkt.Cache, v *pkt.Vector) {
	for v.Len < pkt.VectorSize {
		f, off := p.rx.next()
		if f == nil {
			return
		}
		n := int(f.Snaplen)
		src := off + int(f.Mac)
		if n != int(f.Len) || n < ethHdrLen || int(f.Mac) < offload.VnetHdrLen || src+n > len(p.rx.mem) {
			p.stats.RxErrors++
			p.rx.advance(f)
			continue
		}
		h, _ := offload.ParseVnetHdr(p.rx.mem[src-offload.VnetHdrLen : src])
		k, e := offload.Receive(c, v, h, p.rx.mem[src:src+n])
		if e == offload.ErrNoRoom {
			return // the frame stays in the ring for the next call
		}
		p.offload.Note(h, k, e)
		if e == offload.OK {
			hash := f.Hv1.Rxhash
			for _, i := range v.Idx[v.Len-k : v.Len] {
				c.Arena().Meta(i).Hash = hash
			}
			if f.Status&unix.TP_STATUS_VLAN_VALID != 0 {
				restoreTag(c.Arena(), v.Idx[v.Len-k:v.Len], f.Status, f.Hv1.Vlan_tpid, uint16(f.Hv1.Vlan_tci))
			}
			p.stats.RxBytes += uint64(n)
		}
		p.rx.advance(f)
	}
}

// recvFrames is Recv from the TPACKET_V2 frame ring.
func (p *Port) recvFrames(c *pkt.Cache, v *pkt.Vector) {
	for v.Len < pkt.VectorSize {
		f, off := p.rxf.next()
		if f == nil {
			return
		}
		var frame, vnet []byte
		switch n, mac := int(f.Snaplen), int(f.Mac); {
		case f.Status&unix.TP_STATUS_COPY != 0:
			// The slot holds the head; the whole frame waits in the
			// socket's receive queue, in ring order.
			if frame = p.bigFrame(); frame == nil {
				p.stats.RxErrors++
				p.rxf.advance(f)
				continue
			}
			vnet, frame = frame[:offload.VnetHdrLen], frame[offload.VnetHdrLen:]
		case n != int(f.Len) || n < ethHdrLen || mac < offload.VnetHdrLen || off+mac+n > len(p.rxf.mem):
			p.stats.RxErrors++
			p.rxf.advance(f)
			continue
		default:
			vnet, frame = p.rxf.mem[off+mac-offload.VnetHdrLen:off+mac], p.rxf.mem[off+mac:off+mac+n]
		}
		h, _ := offload.ParseVnetHdr(vnet)
		k, e := offload.Receive(c, v, h, frame)
		if e == offload.ErrNoRoom {
			return // the frame stays for the next call (bigFrame holds a read one)
		}
		p.offload.Note(h, k, e)
		if e == offload.OK {
			if f.Status&unix.TP_STATUS_VLAN_VALID != 0 {
				restoreTag(c.Arena(), v.Idx[v.Len-k:v.Len], f.Status, f.Vlan_tpid, f.Vlan_tci)
			}
			p.stats.RxBytes += uint64(len(frame))
		}
		p.held = 0
		p.rxf.advance(f)
	}
}

// bigFrame returns the whole frame (virtio_net_hdr first) whose head the
// current ring slot holds with TP_STATUS_COPY: a frame larger than a slot
// (a GSO super-frame, a jumbo frame) that the kernel also queued on the
// socket (PACKET_COPY_THRESH). It reads it with one recvfrom into the
// port's own buffer, or returns the one already read for this slot; nil
// when the queue is empty or the frame did not fit the buffer.
func (p *Port) bigFrame() []byte {
	if p.held == 0 {
		n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(p.fd), uintptr(unsafe.Pointer(&p.big[0])),
			uintptr(len(p.big)), unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
		if e != 0 || int(n) > len(p.big) || int(n) < offload.VnetHdrLen+ethHdrLen {
			return nil
		}
		p.held = int(n)
	}
	return p.big[:p.held]
}

// OffloadErrors returns the port's offload counters: the received frames
// it could not segment or complete, by error, and those it did. Call it on
// the owning worker.
func (p *Port) OffloadErrors() offload.Counters { return p.offload }

// Send copies every packet of v into the TX ring, frees its buffer to c and
// flushes the ring with one sendto. Packets that do not fit a slot, or find
// the ring full, count in TxDrops. v is empty on return.
func (p *Port) Send(c *pkt.Cache, v *pkt.Vector) int {
	a := c.Arena()
	queued := 0
	for _, i := range v.Slice() {
		d := a.Data(i)
		h, free := p.tx.slot()
		if !free || len(d) > p.tx.frameSize-p.tx.dataOff-offload.VnetHdrLen {
			p.stats.TxDrops++
			c.Free(i)
			continue
		}
		// A zero virtio_net_hdr: no offload asked of the kernel.
		buf := p.tx.data()
		clear(buf[:offload.VnetHdrLen])
		copy(buf[offload.VnetHdrLen:], d)
		p.tx.push(h, offload.VnetHdrLen+len(d))
		p.stats.TxBytes += uint64(len(d))
		queued++
		c.Free(i)
	}
	v.Reset()
	if queued > 0 || p.txPending {
		p.flush()
	}
	p.stats.TxPackets += uint64(queued)
	return queued
}

// flush asks the kernel to send every requested TX slot (one sendto). A
// failed flush leaves the slots requested; the next Send or PrepareWait
// retries it, so frames never wait for new traffic.
func (p *Port) flush() {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(p.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	p.txPending = e != 0
}

// Stats returns the port's counters, with the kernel's ring-overflow drops
// (PACKET_STATISTICS, one system call) added to RxDrops. Call it on the
// owning worker.
func (p *Port) Stats() driver.Stats {
	if p.fd >= 0 {
		// tpacket_stats for both versions: its first two words are V3's.
		if ks, err := unix.GetsockoptTpacketStats(p.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			p.stats.RxDrops += uint64(ks.Drops) // the kernel resets its counters on read
		}
	}
	s := p.stats
	s.RxDrops += p.offload.Drops()
	s.RxErrors += p.offload.Errors()
	return s
}

// PollFD returns the socket, which is readable when an RX block (RingBlocks)
// or frame (RingFrames) is ready.
func (p *Port) PollFD() int { return p.fd }

// PrepareWait retries a failed TX flush before the worker sleeps; for
// receive, the kernel wakes the socket on its own.
func (p *Port) PrepareWait() {
	if p.txPending {
		p.flush()
	}
}

// Queue reports the port's index in its Interface.
func (p *Port) Queue() int { return p.queue }

// Close unmaps the rings and closes the socket. The port holds no pkt
// buffers between calls, so none return to c. Closing twice is a no-op.
func (p *Port) Close(c *pkt.Cache) error {
	if p.fd < 0 {
		return nil
	}
	var err error
	if p.mmap != nil {
		err = unix.Munmap(p.mmap)
	}
	if e := unix.Close(p.fd); err == nil {
		err = e
	}
	p.fd, p.mmap, p.rx.mem, p.rxf.mem, p.tx.mem, p.big, p.held = -1, nil, nil, nil, nil, nil, 0
	return err
}
