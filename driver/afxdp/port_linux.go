package afxdp

import (
	"math/bits"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/offload"
	"github.com/vecnet/vecnet/internal/xsk"
	"github.com/vecnet/vecnet/pkt"
)

// fillBatch is the most buffers one top-up hands the fill ring.
const fillBatch = 2 * pkt.VectorSize

// Port is one queue of an Interface: an AF_XDP socket and its four rings.
// It implements driver.Port and driver.Waiter. It is not safe for concurrent
// use: one worker drives it, and Recv, Send and PrepareWait neither allocate
// nor lock, and make a system call only when a ring asks for a wake-up.
type Port struct {
	s     *xsk.Socket
	arena *pkt.Arena
	fill  *xsk.FillRing
	comp  *xsk.CompRing
	rx    *xsk.RXRing
	tx    *xsk.TXRing
	slots uint32
	// level is the fill-ring target, see fill.go.
	level fillLevel

	// kernel has bit i set while slot i is held by the kernel through this
	// port's fill or TX ring. Written by the owning worker.
	kernel []uint64
	// cache is the worker's cache, remembered from the last Recv or Send so
	// that PrepareWait can top up the fill ring.
	cache *pkt.Cache
	// scratch receives buffers from the cache on their way to the fill ring.
	scratch [fillBatch]pkt.Index
	stats   driver.Stats
	// offload counts the super-frames segmented or not delivered.
	offload offload.Counters
	// mtu is the size super-frames are segmented to (the device MTU, or
	// less: see Interface.SetSegmentMTU), and maxFrame the longest frame
	// delivered as it is (device MTU, Ethernet header and a VLAN tag).
	mtu, maxFrame int
	// big gathers a frame that came in several descriptors (XDP_USE_SG),
	// bigLen bytes so far; bigBad is set when a piece was unusable, and
	// bigPending when the whole frame waits for room in a vector.
	big        []byte
	bigLen     int
	bigBad     bool
	bigPending bool
	closed     bool
	// txWait counts the Recv calls since Send left descriptors on the TX
	// ring without a kick; 0 when none wait. See kick.
	txWait uint32
	// gone is set by the control plane once the device was deleted: the
	// socket is unbound and the kernel would never send nor complete.
	gone     atomic.Bool
	goneSeen bool // retire counted the TX ring's frames as dropped
}

// txKickBatch is how many pending TX descriptors make Send kick at once:
// the 32 frames a copy-mode kernel sends per wake-up.
const txKickBatch = 32

// txKickPasses is how many Recv calls (dispatch passes) a smaller batch may
// wait for more packets before Recv kicks it out: a few microseconds under
// load, a fraction of one when idle, where passes are short.
const txKickPasses = 4

// maxSuperFrame is the largest multi-buffer frame a port reassembles: a
// 64 KiB IPv4 super-frame with Ethernet and VLAN headers.
const maxSuperFrame = 65535 + 18

func newPort(s *xsk.Socket, a *pkt.Arena, mtu int) *Port {
	n := uint32(a.Slots())
	return &Port{
		s: s, arena: a, slots: n, mtu: mtu, maxFrame: mtu + 18,
		big:  make([]byte, maxSuperFrame),
		fill: s.Fill(), comp: s.Comp(), rx: s.RX(), tx: s.TX(),
		kernel: make([]uint64, (n+63)/64),
		level:  newFillLevel(s.Fill().Size()),
	}
}

func (p *Port) give(i pkt.Index) { p.kernel[i>>6] |= 1 << (i & 63) }

// held reports whether the kernel holds slot i through this port.
func (p *Port) held(i pkt.Index) bool { return p.kernel[i>>6]&(1<<(i&63)) != 0 }

// take clears slot i's kernel bit and reports whether it was set.
func (p *Port) take(i pkt.Index) bool {
	w, b := &p.kernel[i>>6], uint64(1)<<(i&63)
	if *w&b == 0 {
		return false
	}
	*w &^= b
	return true
}

// topUp hands the fill ring as many fresh buffers as fit, up to fillBatch.
func (p *Port) topUp(c *pkt.Cache) {
	out := p.fill.Outstanding()
	if out >= p.level.target {
		return
	}
	start, got := p.fill.Reserve(min(fillBatch, p.level.target-out))
	if got == 0 {
		return
	}
	n := uint32(c.AllocRaw(p.scratch[:got]))
	for k, i := range p.scratch[:n] {
		p.give(i)
		p.fill.Set(start+uint32(k), uint64(i)<<pkt.SlotShift)
	}
	p.fill.Cancel(got - n)
	if n > 0 {
		p.fill.Submit(n)
	}
}

// Recv tops up the fill ring from c, then appends up to v.Free() received
// frames to v with Meta reset to {Off, Len} of the frame. A descriptor that
// names a slot this port did not give the kernel, or a frame that does not
// fit a slot's data area, is counted in RxErrors and not delivered.
//
// Frames longer than the MTU are GSO super-frames a peer with TSO/GSO on
// handed the link (generic XDP takes the skb before any segmentation, and
// AF_XDP carries no segment size): Recv segments them at the MTU into
// fresh slots (offload.SegmentMTU), whether they fit one slot or came as a
// chain of descriptors (the socket is bound with XDP_USE_SG), gathering a
// chain in the port's reassembly buffer first. A frame whose segments do
// not fit v waits there for the next call. A frame of one slot that cannot
// be segmented (not TCPv4, malformed) is delivered whole, for the graph to
// count; a chain that cannot is counted by offload error (OffloadErrors)
// and in RxErrors. Partial
// checksums of frames that need no segmenting stay partial: AF_XDP says
// nothing of them, and ip4-input completes them.
func (p *Port) Recv(c *pkt.Cache, v *pkt.Vector) int {
	p.cache = c
	if p.gone.Load() {
		p.retire() // the socket is unbound: nothing arrives, nothing to wake
		return 0
	}
	if p.level.tick() {
		p.level.adapt(p.s)
	}
	p.topUp(c)
	if p.fill.NeedsWakeup() {
		p.s.WakeupRX()
	}
	if p.txWait > 0 {
		if p.txWait++; p.txWait > txKickPasses {
			p.reap(c) // room on the completion ring, or the kernel refuses to send
			p.kick()
		}
	}
	first := v.Len
	if p.bigPending && !p.segmentBig(c, v) {
		return 0 // still no room for its segments
	}
	start, n := p.rx.Peek(uint32(v.Free()))
	k := start
	for ; k != start+n; k++ {
		if v.Free() == 0 {
			break // the segments of a super-frame took the room; the rest waits
		}
		d := p.rx.Desc(k)
		slot, off := xsk.Slot(d.Addr), xsk.Offset(d.Addr)
		if slot >= p.slots || !p.take(pkt.Index(slot)) {
			p.stats.RxErrors++ // not ours: leave it alone
			continue
		}
		i := pkt.Index(slot)
		more := d.Options&unix.XDP_PKT_CONTD != 0
		if more || p.bigLen > 0 || p.bigBad {
			// A piece of a frame larger than a slot (multi-buffer).
			p.gather(i, off, d.Len)
			c.Free(i)
			if more {
				continue
			}
			if !p.segmentBig(c, v) {
				k++
				break // the frame waits in big for room
			}
			continue
		}
		if d.Len == 0 || d.Len > pkt.DataCap || off+d.Len > pkt.SlotSize {
			p.stats.RxErrors++
			c.Free(i)
			continue
		}
		if int(d.Len) > p.maxFrame {
			// A GSO super-frame that fits one slot (generic XDP hands the
			// skb over unsegmented): segment it at the MTU. A frame that is
			// not TCPv4, or not well formed, goes on whole: the graph
			// judges it (ethernet-input counts it too long).
			src := p.arena.Slot(i)[off : off+d.Len]
			got, e := offload.SegmentMTU(c, v, src, p.mtu)
			switch e {
			case offload.ErrNoRoom:
				p.bigLen = copy(p.big, src)
				c.Free(i)
				p.bigPending = true
				k++
			case offload.OK, offload.ErrNoBuffer:
				p.offload.NoteSegment(got, e)
				p.stats.RxBytes += uint64(d.Len)
				c.Free(i)
				continue
			}
			if e == offload.ErrNoRoom {
				break
			}
		}
		*p.arena.Meta(i) = pkt.Meta{Off: uint16(off), Len: uint16(d.Len)}
		v.Append(i)
		p.stats.RxBytes += uint64(d.Len)
	}
	if k != start+n {
		p.rx.Unpeek(start + n - k) // left for the next call
	}
	if k != start {
		p.rx.Release(k - start)
	}
	got := v.Len - first
	p.stats.RxPackets += uint64(got)
	return got
}

// gather appends a piece of a multi-buffer frame to big; a piece outside
// its slot or past maxSuperFrame spoils the frame.
func (p *Port) gather(i pkt.Index, off, n uint32) {
	if p.bigBad || off+n > pkt.SlotSize || p.bigLen+int(n) > len(p.big) {
		p.bigBad = true
		return
	}
	p.bigLen += copy(p.big[p.bigLen:], p.arena.Slot(i)[off:off+n])
}

// segmentBig delivers the frame gathered in big, segmented at the MTU, and
// reports false when v lacks room for its segments: the frame then stays
// pending for the next call. A spoilt frame counts in RxErrors.
func (p *Port) segmentBig(c *pkt.Cache, v *pkt.Vector) bool {
	if p.bigBad {
		p.stats.RxErrors++
		p.bigLen, p.bigBad, p.bigPending = 0, false, false
		return true
	}
	got, e := offload.SegmentMTU(c, v, p.big[:p.bigLen], p.mtu)
	if e == offload.ErrNoRoom {
		p.bigPending = true
		return false
	}
	p.offload.NoteSegment(got, e)
	p.stats.RxBytes += uint64(p.bigLen)
	p.bigLen, p.bigPending = 0, false
	return true
}

// reap frees to c the buffers the kernel finished sending.
func (p *Port) reap(c *pkt.Cache) {
	for {
		start, n := p.comp.Peek(pkt.VectorSize)
		if n == 0 {
			return
		}
		for k := start; k != start+n; k++ {
			slot := xsk.Slot(p.comp.Addr(k))
			if slot < p.slots && p.take(pkt.Index(slot)) {
				c.Free(pkt.Index(slot))
			}
		}
		p.comp.Release(n)
	}
}

// Send reaps the completion ring, queues every packet of v that fits on the
// TX ring and kicks the kernel if the ring asks for it. Packets that do not
// fit, and packets whose data lies outside their slot or is empty, are freed
// to c and counted in TxDrops. v is emptied.
func (p *Port) Send(c *pkt.Cache, v *pkt.Vector) int {
	p.cache = c
	if p.gone.Load() {
		p.retire()
		p.stats.TxDrops += uint64(v.Len)
		c.FreeN(v.Idx[:v.Len])
		v.Reset()
		return 0
	}
	p.reap(c)
	start, got := p.tx.Reserve(uint32(v.Len))
	k := start
	for _, i := range v.Idx[:got] {
		m := p.arena.Meta(i)
		if m.Len == 0 || int(m.Off)+int(m.Len) > pkt.SlotSize {
			p.stats.TxDrops++
			c.Free(i)
			continue
		}
		if p.held(i) {
			// Already on the ring: a node sent one buffer twice. Queuing it
			// again would let the first completion free it while the kernel
			// still reads it.
			p.stats.TxDrops++
			continue
		}
		p.tx.Set(k, unix.XDPDesc{Addr: uint64(i)<<pkt.SlotShift | uint64(m.Off), Len: uint32(m.Len)})
		p.give(i)
		p.stats.TxBytes += uint64(m.Len)
		k++
	}
	sent := k - start
	p.tx.Cancel(got - sent)
	for _, i := range v.Idx[got:v.Len] {
		c.Free(i)
	}
	p.stats.TxDrops += uint64(uint32(v.Len) - got)
	v.Reset()
	if sent > 0 {
		p.tx.Submit(sent)
		p.stats.TxPackets += uint64(sent)
	}
	if p.tx.Pending() >= txKickBatch {
		p.kick()
	} else if p.txWait == 0 {
		p.txWait = 1 // Recv kicks after txKickPasses, PrepareWait before a sleep
	}
	return int(sent)
}

// kick wakes the kernel to send the TX ring if it asks for it. A copy-mode
// kernel sends at most 32 descriptors per wake-up, so kick repeats while
// that makes progress: one system call per 32 frames, none per frame. Send
// kicks only once txKickBatch descriptors wait; a smaller batch waits up to
// txKickPasses Recv calls for company, or until PrepareWait.
func (p *Port) kick() {
	p.txWait = 0
	pending := p.tx.Pending()
	for pending > 0 && p.tx.NeedsWakeup() {
		left := pending
		if p.s.Wakeup() == nil {
			left = p.tx.Pending()
		}
		if left >= pending {
			// No progress (completion ring full, device busy): keep the
			// frames marked as waiting, so the next Recv reaps and kicks
			// again instead of leaving them until the next Send.
			p.txWait = 1
			return
		}
		pending = left
	}
}

// FlushTX kicks the frames Send left on the TX ring for company (fewer
// than txKickBatch): the worker calls it at the end of every dispatch pass
// that moved packets (worker.Flusher), so a lone frame, such as a ping-pong
// round trip's, leaves within its own pass instead of txKickPasses later.
// No system call when nothing waits.
//
// When frames already wait on the RX ring, the kick waits for the next
// pass: that pass starts at once (the worker polls again after a pass that
// moved packets), and the answers to those frames join these on the ring,
// so one system call sends both. On veth a kick runs the peer's receive
// path inside it, in copy mode its cost is mostly per call and per frame:
// request-response traffic found the RX ring non-empty at a third of its
// flushes (BENCHMARKS.md 6g). Recv's txKickPasses bound still holds, so
// frames wait at most that many passes however busy the RX ring stays.
func (p *Port) FlushTX() {
	if p.txWait == 0 || p.gone.Load() {
		return
	}
	if p.rx.Ready() {
		return
	}
	p.kick()
}

// Stats returns the port's counters with the kernel's socket counters
// (one getsockopt, see kernelstats.go). Call it on the owning worker, off
// the hot path.
func (p *Port) Stats() driver.Stats {
	st := p.stats
	st.RxDrops += p.offload.Drops()
	st.RxErrors += p.offload.Errors()
	st.Kernel = p.kernelStats()
	return st
}

// XDPStats reads the kernel's counters for the port's socket (fill ring
// empty, RX ring full, invalid descriptors). Safe from any goroutine.
func (p *Port) XDPStats() (xsk.Stats, error) { return p.s.Stats() }

// PollFD returns the socket's descriptor: readable when the RX ring has
// frames. Polling it also wakes the kernel for the fill ring.
func (p *Port) PollFD() int { return p.s.FD() }

// PrepareWait tops the fill ring up with the cache of the last Recv or
// Send, so that frames can arrive while the worker sleeps, and kicks TX
// frames a busy kernel left on the ring.
func (p *Port) PrepareWait() {
	if p.cache != nil {
		p.topUp(p.cache)
		p.reap(p.cache)
	}
	p.kick()
}

// Socket returns the port's AF_XDP socket, owned by the port.
func (p *Port) Socket() *xsk.Socket { return p.s }

// Close reaps the completion ring, closes the socket and frees to c every
// buffer the kernel still held through this port (fill ring, RX frames not
// yet consumed, TX in flight). The owning worker must have stopped. Calling
// it again is a no-op.
func (p *Port) Close(c *pkt.Cache) error {
	if p.closed {
		return nil
	}
	p.closed = true
	if c != nil {
		p.reap(c)
	}
	err := p.s.Close()
	for w, word := range p.kernel {
		for word != 0 {
			b := word & -word
			word &^= b
			if c != nil {
				c.Free(pkt.Index(w<<6 | tz(b)))
			}
		}
		p.kernel[w] = 0
	}
	return err
}

var (
	_ driver.Port   = (*Port)(nil)
	_ driver.Waiter = (*Port)(nil)
)

// tz returns the index of the single set bit in b.
func tz(b uint64) int { return bits.TrailingZeros64(b) }

// OffloadErrors returns the port's offload counters (see package offload).
func (p *Port) OffloadErrors() offload.Counters { return p.offload }
