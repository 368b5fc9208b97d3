package nat44

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Node names, on the ip4-unicast feature arc.
const (
	In2OutName = "nat44-in2out"
	Out2InName = "nat44-out2in"
)

// Features are the nodes' places on the ip4-unicast arc: after the ACL and
// the policer (which see the packet as it arrived).
var (
	In2OutFeature = graph.Feature{Node: In2OutName, RunsAfter: []string{"ip4-acl-in", "ip4-policer"}}
	Out2InFeature = graph.Feature{Node: Out2InName, RunsAfter: []string{"ip4-acl-in", "ip4-policer"}}
)

// Error codes of both nodes.
const (
	ErrTranslated = iota
	ErrNoPorts
	ErrFragment
	ErrTruncated
	ErrNoMapping
	ErrExpired
	ErrUnsupported
	ErrHairpinned
	ErrICMPError
	ErrICMPErrorNoMapping
)

var nodeErrors = []graph.Error{
	ErrTranslated:  {Name: "translated", Help: "packets translated", Severity: graph.SevInfo},
	ErrNoPorts:     {Name: "out_of_ports", Help: "new flows dropped: the worker's external ports for the protocol are all mapped", Severity: graph.SevError},
	ErrFragment:    {Name: "fragment", Help: "fragments dropped: NAT44 does not reassemble (yet)", Severity: graph.SevWarn},
	ErrTruncated:   {Name: "truncated", Help: "packets too short for the transport header NAT44 rewrites", Severity: graph.SevError},
	ErrNoMapping:   {Name: "no_mapping", Help: "packets to the pool address with no mapping, passed on untranslated (to the host stack)", Severity: graph.SevInfo},
	ErrExpired:     {Name: "mapping_expired", Help: "mappings removed by their idle timeout", Severity: graph.SevInfo},
	ErrUnsupported: {Name: "untranslated_protocol", Help: "packets of a protocol NAT44 does not translate (ICMP other than echo and errors, others), passed on", Severity: graph.SevInfo},
	ErrHairpinned:  {Name: "hairpinned", Help: "packets from an inside host to another's external address and port, sent back inside from its own (RFC 4787 REQ-9)", Severity: graph.SevInfo},
	ErrICMPError:   {Name: "icmp_error_translated", Help: "ICMP errors about a translated flow, translated with the datagram they quote (RFC 5508 REQ-3)", Severity: graph.SevInfo},
	ErrICMPErrorNoMapping: {Name: "icmp_error_unmatched", Help: "ICMP errors whose quoted datagram is malformed or belongs to no mapping: to the outside dropped, to the pool address passed on (to the host stack)",
		Severity: graph.SevWarn},
}

type state struct {
	arc int
	m   *Mappings
}

// Nodes returns nat44-in2out and nat44-out2in for cfg (validated) over
// the FIB fib (in2out translates only what leaves by the outside
// interface). worker gives each graph its worker index, for its port range.
func Nodes(cfg Config, table *fib.Table, worker func(*graph.Graph) int) []graph.Registration {
	cfg = cfg.withDefaults()
	init := func(n *graph.Node) error {
		arc, err := n.Graph().ArcID(ip4.UnicastArc)
		if err != nil {
			return err
		}
		w := worker(n.Graph())
		// Both nodes of a worker share its mappings.
		var m *Mappings
		for _, other := range []string{In2OutName, Out2InName} {
			if o := n.Graph().Node(other); o != nil && o.State != nil {
				m = o.State.(*state).m
			}
		}
		if m == nil {
			m = NewMappings(cfg, w)
		}
		n.State = &state{arc: arc, m: m}
		return nil
	}
	return []graph.Registration{
		{Name: In2OutName, Errors: nodeErrors, Init: init,
			Func: func(n *graph.Node, v *pkt.Vector) int { return in2out(n, v, table.Load(), cfg.Outside) },
			Tick: func(n *graph.Node) {
				st := n.State.(*state)
				if k := st.m.Sweep(n.Graph().Now(), len(st.m.maps)/256+16); k > 0 {
					n.Count(ErrExpired, uint64(k))
				}
			}},
		{Name: Out2InName, Errors: nodeErrors, Init: init,
			Func: func(n *graph.Node, v *pkt.Vector) int { return out2in(n, v) }},
	}
}

// NodeSessions returns one worker's mappings (call it on the worker).
func NodeSessions(g *graph.Graph) []SessionInfo {
	if n := g.Node(In2OutName); n != nil && n.State != nil {
		return n.State.(*state).m.Snapshot(g.Now())
	}
	return nil
}

// l4 locates the transport fields NAT44 rewrites. It returns the protocol
// slot, the offset of the port (or ICMP identifier) that identifies the
// inside endpoint as seen from the inside (source) — the destination's is
// at +2 for TCP and UDP — and the checksum's offset, or slot -1 when the
// packet is not translatable, with the error code.
func l4(ip wire.IPv4) (slot, csum int, code int) {
	if ip.IsFragment() {
		return -1, 0, ErrFragment
	}
	hl := ip.HeaderLen()
	switch ip.Protocol() {
	case wire.IPProtoTCP:
		if len(ip) < hl+18 {
			return -1, 0, ErrTruncated
		}
		return slotTCP, hl + 16, 0
	case wire.IPProtoUDP:
		if len(ip) < hl+8 {
			return -1, 0, ErrTruncated
		}
		return slotUDP, hl + 6, 0
	case wire.IPProtoICMP:
		if len(ip) < hl+8 {
			return -1, 0, ErrTruncated
		}
		if t := ip[hl]; t != wire.ICMPv4Echo && t != wire.ICMPv4EchoReply {
			return -1, 0, ErrUnsupported
		}
		return slotICMP, hl + 2, 0
	}
	return -1, 0, ErrUnsupported
}

// rewrite sets the packet's address (the source when src, else the
// destination) to addr and its port or ICMP identifier to port, updating
// the IPv4 checksum and the transport checksum (pseudo-header included for
// TCP and UDP; a UDP checksum of 0, "none", stays 0).
func rewrite(ip wire.IPv4, slot, csum int, src bool, addr [4]byte, port uint16) {
	hl := ip.HeaderLen()
	aoff, poff := 12, hl // source address, source port
	if !src {
		aoff, poff = 16, hl+2
	}
	if slot == slotICMP {
		poff = hl + 4 // the identifier, whichever direction
	}
	old := [4]byte(ip[aoff : aoff+4])
	oldPort := binary.BigEndian.Uint16(ip[poff:])
	copy(ip[aoff:aoff+4], addr[:])
	binary.BigEndian.PutUint16(ip[poff:], port)
	ip.SetChecksum(wire.ChecksumUpdate32(ip.Checksum(), old, addr))
	c := binary.BigEndian.Uint16(ip[csum:])
	if slot == slotUDP && c == 0 {
		return
	}
	if slot != slotICMP {
		c = wire.ChecksumUpdate32(c, old, addr)
	}
	c = wire.ChecksumUpdate16(c, oldPort, port)
	if slot == slotUDP && c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(ip[csum:], c)
}

func tcpFlags(ip wire.IPv4, slot int) uint8 {
	if slot == slotTCP {
		return ip[ip.HeaderLen()+13]
	}
	return 0
}

// in2out translates what an inside interface sends out by the outside
// interface: source address to the mapping's pool address, source port to
// the mapping's. What it sends to a pool address and port another inside
// endpoint is mapped to is hairpinned: both ends translated, and routed
// back inside.
func in2out(n *graph.Node, v *pkt.Vector, view *fib.View, outside uint16) int {
	st := n.State.(*state)
	a := n.Arena()
	now := n.Graph().Now()
	translated := uint64(0)
	// Whether a destination leaves by the outside interface is looked up
	// once per run of packets to the same destination (a flow's packets
	// come together in a vector).
	var lastDst [4]byte
	out, haveLast := false, false
	for k, i := range v.Idx[:v.Len] {
		m, l3 := a.L3(i)
		ip := wire.IPv4(l3[:m.Len-m.L3])
		n.Nexts[k] = n.ArcNext(st.arc, m)
		if pa := st.m.pool.index(ip.DstBits()); pa >= 0 {
			if code := hairpin(st, ip, pa, now); code == ErrHairpinned {
				n.Count(ErrHairpinned, 1)
			} else if code >= 0 {
				n.Drop(m, k, code)
			}
			continue
		}
		if dst := ip.Dst(); !haveLast || dst != lastDst {
			adj := view.Adj(view.Lookup(dst, 0))
			out = adj.Kind != fib.AdjLocal && adj.Port == outside
			lastDst, haveLast = dst, true
		}
		if !out {
			continue // to the router itself, or between inside networks
		}
		if ip.TTL() <= 1 {
			// ip4-rewrite answers time exceeded: to the inside source,
			// quoting the datagram as it was sent (VPP's NAT does the same).
			continue
		}
		slot, csum, code := l4(ip)
		if slot < 0 {
			if code == ErrUnsupported {
				if ip.Protocol() == wire.IPProtoICMP && !ip.IsFragment() && isICMPError(ip[ip.HeaderLen()]) {
					if code = errorIn2Out(st, ip, now); code != ErrICMPError {
						n.Drop(m, k, code)
						continue
					}
				}
				n.Count(code, 1)
				continue
			}
			n.Drop(m, k, code)
			continue
		}
		hl := ip.HeaderLen()
		port := binary.BigEndian.Uint16(ip[hl:])
		if slot == slotICMP {
			port = binary.BigEndian.Uint16(ip[hl+4:])
		}
		pos := st.m.outbound(ip.SrcBits(), port, slot, now)
		if pos < 0 {
			n.Drop(m, k, ErrNoPorts)
			continue
		}
		st.m.touch(pos, false, tcpFlags(ip, slot), now)
		mp := &st.m.maps[pos]
		rewrite(ip, slot, csum, true, st.m.pool.bytes(int(mp.extAddr)), mp.extPort)
		translated++
	}
	n.Count(ErrTranslated, translated)
	n.Enqueue(v, n.Nexts[:v.Len])
	return int(v.Len)
}

// hairpin translates a packet from inside to pool address pa: when its
// destination port is mapped (TCP, UDP), the source becomes the sender's
// own mapping and the destination the mapped inside endpoint. It returns
// ErrHairpinned, an error code to drop the packet with, or -1 to pass it
// on untouched (for the router itself).
func hairpin(st *state, ip wire.IPv4, pa int, now int64) int {
	slot, csum, code := l4(ip)
	if slot < 0 {
		if code == ErrUnsupported {
			return -1
		}
		return code
	}
	if slot == slotICMP {
		return -1 // an echo to the pool address is for the router
	}
	hl := ip.HeaderLen()
	to := st.m.inbound(pa, binary.BigEndian.Uint16(ip[hl+2:]), slot, now)
	if to < 0 {
		return -1
	}
	from := st.m.outbound(ip.SrcBits(), binary.BigEndian.Uint16(ip[hl:]), slot, now)
	if from < 0 {
		return ErrNoPorts
	}
	flags := tcpFlags(ip, slot)
	st.m.touch(from, false, flags, now)
	st.m.touch(to, true, flags, now)
	f, t := &st.m.maps[from], &st.m.maps[to]
	rewrite(ip, slot, csum, true, st.m.pool.bytes(int(f.extAddr)), f.extPort)
	rewrite(ip, slot, csum, false, addrBytes(t.inAddr), t.inPort)
	return ErrHairpinned
}

func addrBytes(a uint32) [4]byte { return [4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)} }

// errorIn2Out translates an ICMP error an inside host sends about a
// datagram it received through a mapping (the quote's destination is the
// inside endpoint): quote and outer source become the external address.
func errorIn2Out(st *state, ip wire.IPv4, now int64) int {
	q, ok := parseQuote(ip)
	if !ok {
		return ErrICMPErrorNoMapping
	}
	pos := st.m.inside(be32([4]byte(ip[q.off+16:q.off+20])), binary.BigEndian.Uint16(ip[q.portOff(true):]), q.slot, now)
	if pos < 0 {
		return ErrICMPErrorNoMapping
	}
	mp := &st.m.maps[pos]
	translateQuote(ip, &q, true, st.m.pool.bytes(int(mp.extAddr)), mp.extPort, true)
	return ErrICMPError
}

// errorOut2In translates an ICMP error that arrives for pool address pa
// about a datagram a mapping sent (the quote's source is the external
// endpoint): quote and outer destination become the inside endpoint. It
// returns ErrICMPError, or ErrICMPErrorNoMapping for an error that is not
// about a mapping (for the router itself, passed on).
func errorOut2In(st *state, ip wire.IPv4, now int64) int {
	q, ok := parseQuote(ip)
	if !ok {
		return ErrICMPErrorNoMapping
	}
	qa := st.m.pool.index(be32([4]byte(ip[q.off+12 : q.off+16])))
	if qa < 0 {
		return ErrICMPErrorNoMapping
	}
	pos := st.m.inbound(qa, binary.BigEndian.Uint16(ip[q.portOff(false):]), q.slot, now)
	if pos < 0 {
		return ErrICMPErrorNoMapping
	}
	mp := &st.m.maps[pos]
	translateQuote(ip, &q, false, addrBytes(mp.inAddr), mp.inPort, false)
	return ErrICMPError
}

// out2in translates what arrives for a pool address back to the inside
// endpoint of its mapping, and ICMP errors about a mapping's datagrams.
func out2in(n *graph.Node, v *pkt.Vector) int {
	st := n.State.(*state)
	a := n.Arena()
	now := n.Graph().Now()
	translated := uint64(0)
	for k, i := range v.Idx[:v.Len] {
		m, l3 := a.L3(i)
		ip := wire.IPv4(l3[:m.Len-m.L3])
		n.Nexts[k] = n.ArcNext(st.arc, m)
		pa := st.m.pool.index(ip.DstBits())
		if pa < 0 {
			continue
		}
		slot, csum, code := l4(ip)
		if slot < 0 {
			if code == ErrUnsupported && ip.Protocol() == wire.IPProtoICMP && !ip.IsFragment() && isICMPError(ip[ip.HeaderLen()]) {
				code = errorOut2In(st, ip, now)
			}
			if code == ErrUnsupported || code == ErrICMPError || code == ErrICMPErrorNoMapping {
				n.Count(code, 1)
				continue
			}
			n.Drop(m, k, code)
			continue
		}
		hl := ip.HeaderLen()
		ext := binary.BigEndian.Uint16(ip[hl+2:])
		if slot == slotICMP {
			ext = binary.BigEndian.Uint16(ip[hl+4:])
		}
		pos := st.m.inbound(pa, ext, slot, now)
		if pos < 0 {
			n.Count(ErrNoMapping, 1)
			continue // for the router itself: ip4-local answers
		}
		st.m.touch(pos, true, tcpFlags(ip, slot), now)
		mp := &st.m.maps[pos]
		rewrite(ip, slot, csum, false, addrBytes(mp.inAddr), mp.inPort)
		translated++
	}
	n.Count(ErrTranslated, translated)
	n.Enqueue(v, n.Nexts[:v.Len])
	return int(v.Len)
}
