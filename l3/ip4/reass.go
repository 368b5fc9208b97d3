package ip4

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ReassemblyName is the node that reassembles fragments for the host.
const ReassemblyName = "ip4-reassembly"

// ip4-reassembly error codes. The drops of a whole datagram (overlap,
// too big, timeout, evicted, too many fragments) count datagrams; the
// others count fragments.
const (
	ReassReassembled = iota
	ReassFragments
	ReassErrBadFragment
	ReassErrOverlap
	ReassErrTooBig
	ReassErrTooManyFragments
	ReassErrTimeout
	ReassErrEvicted
	ReassErrNoBuffer
	ReassErrDatagramDropped
)

// ReassemblyConfig bounds one worker's reassembly.
type ReassemblyConfig struct {
	// MaxDatagrams is how many datagrams may be in progress at once; each
	// holds one packet buffer, so it also bounds the buffers held.
	// Default 64. A fragment of a new datagram when all are in use evicts
	// the oldest.
	MaxDatagrams int
	// Timeout is how long a datagram may take to complete, in
	// nanoseconds from its first fragment (RFC 791's timer); default 30 s.
	Timeout int64
}

// DefaultReassemblyTimeout is ReassemblyConfig.Timeout's default.
const DefaultReassemblyTimeout = 30e9

// icmpFragTimeExceeded is time exceeded's code 1, fragment reassembly
// time exceeded (RFC 792).
const icmpFragTimeExceeded = 1

// maxReassFragments bounds the fragments of one datagram (ranges kept).
const maxReassFragments = 64

// Layout of a reassembly buffer: the payload starts at reassPayload in the
// slot, after room for the largest link header ethernet-input accepts
// (Ethernet and one VLAN tag) and the largest IPv4 header.
const (
	reassPayload = pkt.Headroom + wire.EthernetLen + wire.VLANLen + 60
	// ReassemblyMaxPayload is the largest datagram payload (after the IP
	// header) that reassembly can hold in one slot; larger datagrams are
	// dropped as too big.
	ReassemblyMaxPayload = pkt.SlotSize - reassPayload
)

// span is a byte range [start, end) of a datagram's payload.
type span struct{ start, end uint16 }

// reassEntry is one datagram in progress.
type reassEntry struct {
	used     bool
	proto    uint8
	id       uint16
	src, dst uint32
	buf      pkt.Index
	deadline int64
	total    int // payload length, known from the last fragment; -1 before
	got      int // payload bytes received
	l3, hl   int // link and IP header lengths of the first fragment; hl 0 before
	first    int // payload bytes of the first fragment
	meta     pkt.Meta
	n        int
	spans    [maxReassFragments]span
}

// reassState is one worker's reassembly table.
type reassState struct {
	cfg     ReassemblyConfig
	entries []reassEntry
}

const (
	reassNextLocal = 1 + iota
	reassNextICMPError
)

// ReassemblyNode returns ip4-reassembly: ip4-local sends it the fragments
// addressed to the host; it copies each fragment's payload into one buffer
// per datagram (keyed by source, destination, protocol and ID, RFC 791)
// and frees the fragment, and hands the whole datagram back to ip4-local
// when every byte has arrived. Fragments that overlap (RFC 5722's rule, for
// IPv4 as Linux applies it) drop the whole datagram, as does a datagram
// over 65535 bytes or over ReassemblyMaxPayload, one with more than 64
// fragments, or one not complete within the timeout; a datagram that times
// out after its first fragment came gets ICMP time exceeded (fragment
// reassembly time exceeded, RFC 792), quoting that fragment. The table is per
// worker: the fragments of one datagram must reach the same worker (RSS
// hashes fragments by addresses only, as Linux's veth and most NICs do),
// otherwise each worker's part times out and is counted.
func ReassemblyNode(cfg ReassemblyConfig) graph.Registration {
	if cfg.MaxDatagrams <= 0 {
		cfg.MaxDatagrams = 64
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultReassemblyTimeout
	}
	return graph.Registration{
		Name: ReassemblyName,
		Next: []string{LocalName, ICMPErrorName},
		Errors: []graph.Error{
			ReassReassembled:         {Name: "reassembled", Help: "datagrams reassembled", Severity: graph.SevInfo},
			ReassFragments:           {Name: "fragments", Help: "fragments taken into a datagram", Severity: graph.SevInfo},
			ReassErrBadFragment:      {Name: "bad_fragment", Help: "fragment empty, not a multiple of 8 bytes before the last, or past the last"},
			ReassErrOverlap:          {Name: "overlap", Help: "datagram dropped: overlapping fragments"},
			ReassErrTooBig:           {Name: "too_big", Help: "datagram dropped: over 65535 bytes or over a packet buffer"},
			ReassErrTooManyFragments: {Name: "too_many_fragments", Help: "datagram dropped: more than 64 fragments"},
			ReassErrTimeout:          {Name: "timeout", Help: "datagram dropped: not complete in time (time exceeded sent when its first fragment came)", Severity: graph.SevWarn},
			ReassErrEvicted:          {Name: "evicted", Help: "datagram dropped: table full, oldest evicted", Severity: graph.SevWarn},
			ReassErrNoBuffer:         {Name: "no_buffer", Help: "no free buffer to reassemble a datagram in"},
			ReassErrDatagramDropped:  {Name: "fragment_of_dropped", Help: "fragment that ended its datagram (overlap, too big, too many)"},
		},
		Init: func(n *graph.Node) error {
			n.State = &reassState{cfg: cfg, entries: make([]reassEntry, cfg.MaxDatagrams)}
			return nil
		},
		Close: func(n *graph.Node) {
			st := n.State.(*reassState)
			for k := range st.entries {
				if e := &st.entries[k]; e.used {
					e.used = false
					n.Cache().Free(e.buf)
				}
			}
		},
		Tick:   func(n *graph.Node) { reassExpire(n, n.State.(*reassState), n.Graph().Now()) },
		Func:   func(n *graph.Node, v *pkt.Vector) int { return reassemble(n, v) },
		Format: formatIP,
	}
}

// reassExpire drops the datagrams whose time is up.
func reassExpire(n *graph.Node, st *reassState, now int64) {
	for k := range st.entries {
		if e := &st.entries[k]; e.used && now >= e.deadline {
			reassTimeout(n, e)
		}
	}
}

// reassTimeout ends datagram e, whose time is up: with its first fragment
// in, the buffer becomes that fragment again, for icmp4-error to answer
// with fragment reassembly time exceeded; without, it is freed.
func reassTimeout(n *graph.Node, e *reassEntry) {
	n.Count(ReassErrTimeout, 1)
	e.used = false
	if e.hl == 0 {
		n.Cache().Free(e.buf)
		return
	}
	a := n.Arena()
	a.SetData(e.buf, reassPayload-e.hl-e.l3, e.l3+e.hl+e.first)
	m := a.Meta(e.buf)
	off, l := m.Off, m.Len
	*m = e.meta
	m.Off, m.Len = off, l
	m.L3, m.L4 = uint16(e.l3), uint16(e.l3+e.hl)
	m.Seq, m.Flags = 0, m.Flags&^pkt.FlagTraced
	m.ICMP = pkt.ICMPRequest{Type: wire.ICMPv4TimeExceeded, Code: icmpFragTimeExceeded}
	n.EnqueueOne(e.buf, reassNextICMPError)
}

// reassDrop frees datagram e's buffer and counts it under code.
func reassDrop(n *graph.Node, e *reassEntry, code int) {
	e.used = false
	n.Cache().Free(e.buf)
	n.Count(code, 1)
}

// reassemble is ip4-reassembly's node function (named, not a closure, so
// that its calls inline; see input). Fragments taken are freed; dropped
// ones stay in v, compacted, and go to error-drop together.
func reassemble(n *graph.Node, v *pkt.Vector) int {
	st := n.State.(*reassState)
	now := n.Graph().Now()
	a := n.Arena()
	c := n.Cache()
	cnt := v.Len
	kept := 0
	var taken uint64
	for _, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		if code := reassFragment(n, st, a, i, m, now); code >= 0 {
			m.Error = n.Err(code)
			v.Idx[kept] = i
			kept++
			continue
		}
		taken++
		c.Free(i)
	}
	n.Count(ReassFragments, taken)
	v.Len = kept
	if kept == 0 {
		v.Reset()
	} else {
		n.EnqueueAll(v, graph.NextDrop)
	}
	return cnt
}

// reassFragment takes fragment i into its datagram. It returns -1 when
// the fragment's bytes are taken (the caller frees it), or the error code
// to drop it under.
func reassFragment(n *graph.Node, st *reassState, a *pkt.Arena, i pkt.Index, m *pkt.Meta, now int64) int {
	d := a.Data(i)
	l3 := int(m.L3)
	if l3+wire.IPv4MinLen > len(d) || l3 > wire.EthernetLen+wire.VLANLen {
		return ReassErrBadFragment
	}
	ip := wire.IPv4(d[l3:])
	hl, tl := ip.HeaderLen(), int(ip.TotalLen())
	if hl < wire.IPv4MinLen || tl < hl || tl > len(ip) {
		return ReassErrBadFragment // ip4-input checked this: not reached
	}
	word := binary.BigEndian.Uint16(ip[6:])
	mf := word&0x2000 != 0
	off := int(word&0x1fff) * 8
	pl := ip[hl:tl]
	end := off + len(pl)
	if len(pl) == 0 || (mf && len(pl)%8 != 0) {
		return ReassErrBadFragment
	}
	e := reassFind(st, ip, now)
	if e == nil {
		if hl+end > 0xffff || end > ReassemblyMaxPayload {
			n.Count(ReassErrTooBig, 1)
			return ReassErrDatagramDropped
		}
		var code int
		if e, code = reassNew(n, st, ip, now); e == nil {
			return code
		}
	}
	switch {
	case hl+end > 0xffff || end > ReassemblyMaxPayload:
		reassDrop(n, e, ReassErrTooBig)
		return ReassErrDatagramDropped
	case e.total >= 0 && (end > e.total || !mf && end != e.total):
		reassDrop(n, e, ReassErrOverlap) // past the end, or a second, different end
		return ReassErrDatagramDropped
	case e.n == maxReassFragments:
		reassDrop(n, e, ReassErrTooManyFragments)
		return ReassErrDatagramDropped
	}
	for _, s := range e.spans[:e.n] {
		if off < int(s.end) && end > int(s.start) {
			reassDrop(n, e, ReassErrOverlap)
			return ReassErrDatagramDropped
		}
	}
	if !mf {
		for _, s := range e.spans[:e.n] {
			if int(s.end) > end {
				reassDrop(n, e, ReassErrOverlap) // bytes past the end arrived earlier
				return ReassErrDatagramDropped
			}
		}
		e.total = end
	}
	e.spans[e.n] = span{uint16(off), uint16(end)}
	e.n++
	e.got += len(pl)
	slot := a.Slot(e.buf)
	copy(slot[reassPayload+off:], pl)
	if off == 0 {
		// The first fragment gives the header: link header and IP header
		// (with every option) just in front of the payload.
		e.l3, e.hl, e.first = l3, hl, len(pl)
		copy(slot[reassPayload-hl-l3:], d[:l3+hl])
		e.meta = *m
	}
	if e.total < 0 || e.got != e.total || e.hl == 0 {
		return -1
	}
	// Complete: no overlap and got == total, so [0, total) is covered.
	start := reassPayload - e.hl - e.l3
	out, _ := a.SetData(e.buf, start, e.l3+e.hl+e.total)
	bm := a.Meta(e.buf)
	off0, len0 := bm.Off, bm.Len
	*bm = e.meta
	bm.Off, bm.Len = off0, len0
	bm.L3, bm.L4 = uint16(e.l3), uint16(e.l3+e.hl)
	bm.Seq, bm.Flags = 0, bm.Flags&^pkt.FlagTraced
	rip := wire.IPv4(out[e.l3:])
	rip.SetTotalLen(uint16(e.hl + e.total))
	binary.BigEndian.PutUint16(rip[6:], binary.BigEndian.Uint16(rip[6:])&0x4000) // DF kept, MF and offset cleared
	rip.SetChecksum(0)
	rip.SetChecksum(rip.ComputeChecksum())
	e.used = false
	n.EnqueueOne(e.buf, reassNextLocal)
	n.Count(ReassReassembled, 1)
	return -1
}

// reassFind returns the datagram fragment ip belongs to, or nil; one whose
// time is up is dropped first.
func reassFind(st *reassState, ip wire.IPv4, now int64) *reassEntry {
	src, dst, id, proto := ip.SrcBits(), ip.DstBits(), ip.ID(), ip.Protocol()
	for k := range st.entries {
		e := &st.entries[k]
		if e.used && e.src == src && e.dst == dst && e.id == id && e.proto == proto && now < e.deadline {
			return e
		}
	}
	return nil
}

// reassNew starts a datagram for fragment ip in a free entry, evicting the
// one closest to its deadline when none is free (or an expired one). It
// returns nil and the error code to drop the fragment under when no buffer
// is left.
func reassNew(n *graph.Node, st *reassState, ip wire.IPv4, now int64) (*reassEntry, int) {
	var e *reassEntry
	for k := range st.entries {
		x := &st.entries[k]
		if !x.used {
			e = x
			break
		}
		if x.deadline <= now {
			reassTimeout(n, x)
			e = x
			break
		}
		if e == nil || x.deadline < e.deadline {
			e = x
		}
	}
	if e.used {
		reassDrop(n, e, ReassErrEvicted)
	}
	b, ok := n.Cache().Alloc()
	if !ok {
		return nil, ReassErrNoBuffer
	}
	*e = reassEntry{used: true, proto: ip.Protocol(), id: ip.ID(), src: ip.SrcBits(), dst: ip.DstBits(),
		buf: b, deadline: now + st.cfg.Timeout, total: -1}
	return e, 0
}
