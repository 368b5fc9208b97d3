package ip4

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// FragName is the node that fragments packets larger than their egress MTU.
const FragName = "ip4-frag"

// ip4-frag error codes.
const (
	FragErrFragmented = iota
	FragErrFragments
	FragErrNoBuffer
	FragErrBadMTU
	FragErrTooMany
)

const fragNextOutput = 1

// maxFragments bounds the fragments of one packet (a slot's worth of
// payload in 8-byte pieces at the smallest MTU is well below it).
const maxFragments = pkt.VectorSize

// fragState is one worker's ip4-frag scratch.
type fragState struct {
	arc  int                     // the ip4-output arc, or -1: fragments go to interface-output
	bufs [maxFragments]pkt.Index // the fragments after the first
	opts [40]byte                // options copied into fragments after the first
}

// FragNode returns ip4-frag (RFC 791 section 3.2, "Fragmentation"). It
// receives a frame ip4-rewrite has finished (Ethernet header written,
// TxPort set) whose IP packet is larger than the egress MTU in Meta.MTU
// and does not forbid fragmentation. The packet's own buffer becomes the
// first fragment, with every option; each further fragment is a new buffer
// from the worker's cache holding the Ethernet header, the IP header with
// only the options whose copy flag is set, and the next piece of the
// payload. Offsets are multiples of 8 bytes; every fragment but the last
// has MF, and the last keeps the original's MF (a fragment fragmented
// again). DF is cleared. When the cache cannot supply every buffer the
// packet is dropped whole. With the ip4-output arc declared (ip4-frag
// among its AlsoStart), every fragment enters it, so an output ACL sees
// fragments too.
func FragNode() graph.Registration {
	return graph.Registration{
		Name: FragName,
		Next: []string{driver.OutputNodeName},
		Errors: []graph.Error{
			FragErrFragmented: {Name: "fragmented", Help: "packets fragmented to fit the egress MTU", Severity: graph.SevInfo},
			FragErrFragments:  {Name: "fragments", Help: "fragments sent", Severity: graph.SevInfo},
			FragErrNoBuffer:   {Name: "no_buffer", Help: "no free buffer for a fragment (packet dropped)"},
			FragErrBadMTU:     {Name: "bad_mtu", Help: "egress MTU leaves no room for 8 bytes of payload after the header"},
			FragErrTooMany:    {Name: "too_many_fragments", Help: "packet would need more fragments than one vector holds"},
		},
		Init: func(n *graph.Node) error {
			st := &fragState{arc: -1}
			if id, err := n.Graph().ArcID(OutputArc); err == nil {
				st.arc = id
			}
			n.State = st
			return nil
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return frag(n, v) },
		Format: formatIP,
	}
}

// frag is ip4-frag's node function (named, not a closure, so that its
// calls inline; see input).
func frag(n *graph.Node, v *pkt.Vector) int {
	st := n.State.(*fragState)
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		n.Nexts[k] = fragment(n, st, a, i, k)
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// fragment splits packet i (the vector's k-th) and returns its edge: the
// packet itself, cut to the first fragment, goes to interface-output; the
// others are enqueued there one by one.
func fragment(n *graph.Node, st *fragState, a *pkt.Arena, i pkt.Index, k int) uint16 {
	m, d := a.Packet(i)
	l3 := int(m.L3)
	if l3+wire.IPv4MinLen > len(d) {
		n.Drop(m, k, FragErrBadMTU)
		return graph.NextDrop
	}
	ip := wire.IPv4(d[l3:])
	hl, tl := ip.HeaderLen(), int(ip.TotalLen())
	if hl < wire.IPv4MinLen || tl < hl || tl > len(ip) {
		n.Drop(m, k, FragErrBadMTU) // ip4-input checked this: not reached
		return graph.NextDrop
	}
	mtu := int(m.MTU)
	// Fragments after the first carry only the options with the copy flag.
	ol := copiedOptions(st.opts[:], ip[wire.IPv4MinLen:hl])
	hl2 := wire.IPv4MinLen + ol
	first, rest := (mtu-hl)&^7, (mtu-hl2)&^7
	if first < 8 || rest < 8 {
		n.Drop(m, k, FragErrBadMTU)
		return graph.NextDrop
	}
	payload := tl - hl
	more := 0
	if payload > first {
		more = (payload - first + rest - 1) / rest
	}
	if more > maxFragments {
		n.Drop(m, k, FragErrTooMany)
		return graph.NextDrop
	}
	c := n.Cache()
	for j := range more {
		b, ok := c.Alloc()
		if !ok {
			c.FreeN(st.bufs[:j])
			n.Drop(m, k, FragErrNoBuffer)
			return graph.NextDrop
		}
		st.bufs[j] = b
	}
	word := binary.BigEndian.Uint16(ip[6:])
	off0 := int(word&0x1fff) * 8
	lastMF := word & 0x2000
	const mf = 0x2000
	pl := ip[hl:tl]
	pos := first
	for j := range more {
		size := min(rest, payload-pos)
		b := st.bufs[j]
		bm := a.Meta(b)
		*bm = *m
		bm.Off = pkt.Headroom
		bm.Len = uint16(l3 + hl2 + size)
		bm.L4 = uint16(l3 + hl2)
		bm.Seq, bm.Flags = 0, bm.Flags&^pkt.FlagTraced // a new packet: not the original's trace
		f, _ := a.SetData(b, pkt.Headroom, l3+hl2+size)
		copy(f, d[:l3+wire.IPv4MinLen])
		fip := wire.IPv4(f[l3:])
		copy(fip[wire.IPv4MinLen:], st.opts[:ol])
		copy(fip[hl2:], pl[pos:pos+size])
		fip[0] = 0x40 | byte(hl2/4)
		fip.SetTotalLen(uint16(hl2 + size))
		flags := uint16(mf)
		if pos+size == payload {
			flags = lastMF
		}
		binary.BigEndian.PutUint16(fip[6:], flags|uint16((off0+pos)/8))
		fip.SetChecksum(0)
		fip.SetChecksum(fip.ComputeChecksum())
		next := uint16(fragNextOutput)
		if st.arc >= 0 {
			next = n.ArcStart(st.arc, bm)
		}
		n.EnqueueOne(b, next)
		pos += size
	}
	// The first fragment, in place.
	flags := uint16(mf)
	if more == 0 {
		flags = lastMF // an MTU that needs no cut: sent as it is, DF cleared
	}
	binary.BigEndian.PutUint16(ip[6:], flags|uint16(off0/8))
	firstLen := min(hl+first, tl)
	ip.SetTotalLen(uint16(firstLen))
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	m.Len = uint16(l3 + firstLen)
	n.Count(FragErrFragmented, 1)
	n.Count(FragErrFragments, uint64(more+1))
	if st.arc >= 0 {
		return n.ArcStart(st.arc, m)
	}
	return fragNextOutput
}

// copiedOptions writes into dst the options of opts whose copy flag
// (the type's high bit) is set, padded with End of Option List to a
// multiple of 4 bytes, and returns their length. Malformed options end
// the scan: what follows is not copied.
func copiedOptions(dst, opts []byte) int {
	w := 0
	for r := 0; r < len(opts); {
		t := opts[r]
		if t == 0 { // end of option list
			break
		}
		if t == 1 { // no operation
			r++
			continue
		}
		if r+1 >= len(opts) {
			break
		}
		l := int(opts[r+1])
		if l < 2 || r+l > len(opts) {
			break
		}
		if t&0x80 != 0 {
			w += copy(dst[w:], opts[r:r+l])
		}
		r += l
	}
	for w%4 != 0 {
		dst[w] = 0
		w++
	}
	return w
}
