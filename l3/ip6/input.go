package ip6

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip6-input error codes.
const (
	InErrTooShort = iota
	InErrBadVersion
	InErrBadLength
	InErrBadSource
	InErrLoopbackSource
	InErrOwnSource
	InErrMulticast
	InErrLinkLocalDst
	InErrExtTruncated
	InErrExtTooMany
	InErrExtTooLong
	InErrHopByHopNotFirst
	InErrRH0
	InErrLoopbackDst
	InEvL4ChecksumCompleted
)

var inputErrors = []graph.Error{
	InErrTooShort:         {Name: "too_short", Help: "ip6 packet shorter than the 40-byte header"},
	InErrBadVersion:       {Name: "bad_version", Help: "ip6 version is not 6"},
	InErrBadLength:        {Name: "bad_length", Help: "ip6 payload length runs past the frame"},
	InErrBadSource:        {Name: "bad_source", Help: "source is multicast, or unspecified (::) outside neighbour discovery"},
	InErrLoopbackSource:   {Name: "loopback_source", Help: "source ::1 on the wire (martian)", Severity: graph.SevWarn},
	InErrOwnSource:        {Name: "own_source", Help: "source is one of our own addresses (martian, spoofed or looped)", Severity: graph.SevWarn},
	InErrMulticast:        {Name: "multicast", Help: "multicast destination other than all-nodes or our solicited-node groups (not routed)", Severity: graph.SevWarn},
	InErrLinkLocalDst:     {Name: "link_local_not_ours", Help: "link-local destination that is not ours (never forwarded)", Severity: graph.SevWarn},
	InErrExtTruncated:     {Name: "ext_truncated", Help: "an extension header runs past the packet"},
	InErrExtTooMany:       {Name: "ext_too_many", Help: "more extension headers than the bound (8)", Severity: graph.SevWarn},
	InErrExtTooLong:       {Name: "ext_too_long", Help: "extension headers longer than the bound (512 bytes)", Severity: graph.SevWarn},
	InErrHopByHopNotFirst: {Name: "hop_by_hop_not_first", Help: "hop-by-hop options header not right after the fixed header (RFC 8200 4.1)"},
	InErrRH0:              {Name: "routing_header_0", Help: "type 0 routing header with segments left (deprecated, RFC 5095)", Severity: graph.SevWarn},
	InErrLoopbackDst:      {Name: "loopback_destination", Help: "destination ::1 on the wire"},
	InEvL4ChecksumCompleted: {Name: "l4_checksum_completed",
		Help: "TCP/UDP checksum left for offload (partial) completed in software", Severity: graph.SevInfo},
}

var parseErrCode = [...]int{
	wire.IPv6TooShort:   InErrTooShort,
	wire.IPv6BadVersion: InErrBadVersion,
	wire.IPv6BadLength:  InErrBadLength,
}

var extErrCode = [...]int{
	wire.ExtTruncated:        InErrExtTruncated,
	wire.ExtTooMany:          InErrExtTooMany,
	wire.ExtTooLong:          InErrExtTooLong,
	wire.ExtHopByHopNotFirst: InErrHopByHopNotFirst,
}

// inNextLookup is ip6-input's edge to ip6-lookup, the end of the
// ip6-unicast arc (feature edges come after ip6-local's).
const (
	inNextLookup = 1 + iota
	inNextLocal
)

// InputNode returns ip6-input (see the package doc). ifs gives the
// router's own addresses. When the graph declares the ip6-unicast arc
// (UnicastArc, started here, ending at ip6-lookup), packets to be routed
// enter it for their receive interface; packets for ip6-local do not.
func InputNode(ifs *iface.Table) graph.Registration {
	arc := -1
	return graph.Registration{
		Name:   InputName,
		Next:   []string{LookupName, LocalName},
		Errors: inputErrors,
		Init: func(n *graph.Node) error {
			if id, err := n.Graph().ArcID(UnicastArc); err == nil {
				arc = id
			}
			return nil
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return input(n, v, arc, ifs.Load()) },
		Format: formatIP,
	}
}

// input is ip6-input's node function (named, not a closure, so that its
// calls inline; see ip4's input); arc is the ip6-unicast arc's id, or -1
// when the graph has none.
func input(n *graph.Node, v *pkt.Vector, arc int, set *iface.Set) int {
	a := n.Arena()
	cnt := v.Len
	if arc >= 0 && !n.ArcActive(arc) {
		arc = -1 // no feature enabled on any interface: straight on, no ArcStart
	}
	port, next := -1, uint16(0) // the last ArcStart answer and its port
	for k, i := range v.Idx[:cnt] {
		m, l3 := a.L3(i)
		ip, e := wire.ParseIPv6(l3)
		if e != wire.IPv6OK {
			n.Drop(m, k, parseErrCode[e])
			continue
		}
		m.Len = m.L3 + uint16(len(ip)) // cut Ethernet padding
		m.L4 = m.L3 + wire.IPv6Len
		proto, l4 := ip.NextHeader(), wire.IPv6Len
		if proto != wire.IPProtoTCP && proto != wire.IPProtoUDP && proto != wire.IPProtoICMPv6 {
			w, ee := ip.WalkExtensions(MaxExtHeaders, MaxExtHeadsLen)
			if ee != wire.ExtOK {
				n.Drop(m, k, extErrCode[ee])
				continue
			}
			if w.RoutingType == 0 && w.SegmentsLeft != 0 {
				n.Drop(m, k, InErrRH0)
				continue
			}
			m.L4 = m.L3 + uint16(w.Off)
			proto, l4 = w.Proto, w.Off
			if w.Fragment {
				proto = wire.IPProtoFragment // no checksum completion for a piece
			}
		}
		// A TCP or UDP checksum left for offload by the sender (see
		// wire.IPv4.PartialL4Checksum) is finished here, forwarded or not.
		if m.Flags&pkt.FlagL4ChecksumOK == 0 && ip.MaybePartialL4Checksum(proto, l4) && ip.CompletePartialL4Checksum(proto, l4) {
			m.Flags |= pkt.FlagL4ChecksumOK
			n.Count(InEvL4ChecksumCompleted, 1)
		}
		srcHi, srcLo := ip.SrcHi(), ip.SrcLo()
		dstHi, dstLo := ip.DstHi(), ip.DstLo()
		if srcHi>>56 == 0xff {
			n.Drop(m, k, InErrBadSource)
			continue
		}
		if srcHi == 0 && srcLo <= 1 {
			if srcLo == 1 {
				n.Drop(m, k, InErrLoopbackSource)
				continue
			}
			if dstHi>>56 != 0xff { // :: only for DAD's solicitations
				n.Drop(m, k, InErrBadSource)
				continue
			}
		}
		if dstHi == 0 && dstLo == 1 {
			n.Drop(m, k, InErrLoopbackDst)
			continue
		}
		if set.IsLocal6(srcHi, srcLo) {
			n.Drop(m, k, InErrOwnSource)
			continue
		}
		switch {
		case dstHi>>56 == 0xff:
			// Link-scope groups neighbour discovery uses: all-nodes
			// ff02::1, all-routers ff02::2, solicited-node ff02::1:ffXX:XXXX.
			if dstHi == 0xff02<<48 && (dstLo == 1 || dstLo == 2 || dstLo>>24 == 0x1ff) {
				n.Nexts[k] = inNextLocal
				continue
			}
			n.Drop(m, k, InErrMulticast)
		case dstHi>>54 == 0xfe80>>6:
			if !set.IsLocal6(dstHi, dstLo) {
				n.Drop(m, k, InErrLinkLocalDst)
				continue
			}
			n.Nexts[k] = inNextLocal
		default:
			// While ArcStart leads straight to the arc's end (no feature
			// enabled, so it does not touch Meta), its answer holds for
			// the rest of the receive port's run: one branch per packet.
			if arc < 0 {
				n.Nexts[k] = inNextLookup
				continue
			}
			if int(m.RxPort) != port {
				port, next = int(m.RxPort), 0
			}
			if next != inNextLookup {
				next = n.ArcStart(arc, m)
			}
			n.Nexts[k] = next
		}
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// formatIP renders the IPv6 header of a traced packet.
func formatIP(r *graph.TraceRecord) string {
	l3 := int(r.Meta.L3)
	if l3+wire.IPv6Len > r.Len {
		return "short ip6 header"
	}
	ip := wire.IPv6(r.Data[l3:r.Len])
	return "ip6 " + addrString(ip.Src()) + " -> " + addrString(ip.Dst()) + " next " + itoa(int(ip.NextHeader())) +
		" hlim " + itoa(int(ip.HopLimit())) + " plen " + itoa(int(ip.PayloadLen()))
}

func addrString(a [16]byte) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 39)
	for k := 0; k < 16; k += 2 {
		if k > 0 {
			b = append(b, ':')
		}
		x := uint16(a[k])<<8 | uint16(a[k+1])
		started := false
		for s := 12; s >= 0; s -= 4 {
			d := x >> s & 15
			if d != 0 || started || s == 0 {
				b = append(b, hex[d])
				started = true
			}
		}
	}
	return string(b)
}

func itoa(x int) string {
	if x == 0 {
		return "0"
	}
	var b [20]byte
	k := len(b)
	for x > 0 {
		k--
		b[k] = byte('0' + x%10)
		x /= 10
	}
	return string(b[k:])
}
