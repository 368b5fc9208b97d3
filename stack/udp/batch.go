package udp

import (
	"net/netip"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Handler answers datagrams in the graph, on the worker that received
// them. It gets one batch per vector and must not block or keep the batch
// (or any slice of it) after returning.
type Handler func(b *Batch)

// Verdicts of a batch entry.
const (
	verdictNone uint8 = iota
	verdictReply
	verdictDrop
)

// Batch is the datagrams of one vector for one handler. It belongs to
// the worker; a handler uses it only during its call.
type Batch struct {
	a  *pkt.Arena
	ip *wire.IPv4Emitter // the worker's, for the replies
	n  int

	pos     [pkt.VectorSize]uint16 // position in the node's vector
	idx     [pkt.VectorSize]pkt.Index
	verdict [pkt.VectorSize]uint8
	payLen  [pkt.VectorSize]uint16
	src     [pkt.VectorSize]netip.Addr
	dst     [pkt.VectorSize]netip.Addr
	sport   [pkt.VectorSize]uint16
	dport   [pkt.VectorSize]uint16
}

func (b *Batch) reset() { b.n = 0 }

func (b *Batch) add(pos int, i pkt.Index, src, dst netip.Addr, sport, dport uint16, payLen int) {
	k := b.n
	b.pos[k] = uint16(pos)
	b.idx[k] = i
	b.verdict[k] = verdictNone
	b.payLen[k] = uint16(payLen)
	b.src[k], b.dst[k] = src, dst
	b.sport[k], b.dport[k] = sport, dport
	b.n++
}

// Len reports how many datagrams the batch holds.
func (b *Batch) Len() int { return b.n }

// Payload returns datagram k's payload, writable in place. Its capacity
// extends to the end of the packet's buffer slot, so an answer written
// through Payload(k)[:n] may be longer than the query.
func (b *Batch) Payload(k int) []byte {
	i := b.idx[k]
	m := b.a.Meta(i)
	off := int(m.Off) + int(m.L4) + wire.UDPLen
	return b.a.Slot(i)[off : off+int(b.payLen[k])]
}

// Src returns the remote address of datagram k.
func (b *Batch) Src(k int) netip.AddrPort {
	return netip.AddrPortFrom(b.src[k], b.sport[k])
}

// Dst returns the local address of datagram k.
func (b *Batch) Dst(k int) netip.AddrPort {
	return netip.AddrPortFrom(b.dst[k], b.dport[k])
}

// MaxReply returns the largest n Reply(k, n) accepts.
func (b *Batch) MaxReply(k int) int {
	i := b.idx[k]
	m := b.a.Meta(i)
	return min(pkt.SlotSize-(int(m.Off)+int(m.L4)+wire.UDPLen), 0xffff-wire.IPv6Len-wire.UDPLen)
}

// Reply answers datagram k in place with Payload(k)[:n]: addresses and
// ports swapped, a fresh 20-byte IPv4 header (options dropped) or 40-byte
// IPv6 header (extension headers dropped), lengths, TTL or hop limit and
// the checksums set. The packet goes on to ip4-lookup or ip6-lookup. An n out of
// range (see MaxReply) drops the datagram, counted as reply_too_long. Only
// the first Reply or Drop of a datagram counts.
func (b *Batch) Reply(k, n int) {
	if b.verdict[k] != verdictNone {
		return
	}
	if n < 0 || n > b.MaxReply(k) {
		b.verdict[k] = verdictTooLong
		return
	}
	i := b.idx[k]
	m := b.a.Meta(i)
	slot := b.a.Slot(i)
	l4 := int(m.Off) + int(m.L4)
	u := wire.UDP(slot[l4 : l4+wire.UDPLen+n])
	uf := wire.UDPFields{SrcPort: b.dport[k], DstPort: b.sport[k], Length: uint16(wire.UDPLen + n)}
	u.Encode(&uf)
	var l3 int
	if b.dst[k].Is4() {
		src, dst := b.dst[k].As4(), b.src[k].As4()
		l3 = l4 - wire.IPv4MinLen
		b.ip.Emit(slot[l3:l4], wire.IPProtoUDP, src, dst, wire.UDPLen+n)
		u.SetChecksum(u.ComputeChecksum(src, dst))
	} else {
		src, dst := b.dst[k].As16(), b.src[k].As16()
		l3 = l4 - wire.IPv6Len
		f := wire.IPv6Fields{PayloadLen: uint16(wire.UDPLen + n), NextHeader: wire.IPProtoUDP, HopLimit: DefaultHopLimit, Src: src, Dst: dst}
		wire.IPv6(slot[l3:l4]).Encode(&f)
		u.SetChecksum(u.ComputeChecksum6(src, dst))
	}
	m.L3 = uint16(l3 - int(m.Off))
	m.Len = uint16(l4 + wire.UDPLen + n - int(m.Off))
	m.Flags = m.Flags&^pkt.FlagL4ChecksumOK | pkt.FlagLocal
	b.verdict[k] = verdictReply
}

// Drop consumes datagram k without an answer (counted as handler_dropped).
func (b *Batch) Drop(k int) {
	if b.verdict[k] == verdictNone {
		b.verdict[k] = verdictDrop
	}
}

// verdictTooLong marks a Reply whose length did not fit; verdictPanic a
// datagram whose handler panicked.
const (
	verdictTooLong uint8 = 3
	verdictPanic   uint8 = 4
)

// panicked marks every datagram of the batch as lost to a handler panic.
func (b *Batch) panicked() {
	for k := 0; k < b.n; k++ {
		b.verdict[k] = verdictPanic
	}
}

// DefaultTTL is the TTL of datagrams the stack originates.
const DefaultTTL = wire.DefaultTTL

// DefaultHopLimit is the hop limit of IPv6 datagrams the stack originates.
const DefaultHopLimit = 64
