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
)

var nodeErrors = []graph.Error{
	ErrTranslated:  {Name: "translated", Help: "packets translated", Severity: graph.SevInfo},
	ErrNoPorts:     {Name: "out_of_ports", Help: "new flows dropped: the worker's external ports for the protocol are all mapped", Severity: graph.SevError},
	ErrFragment:    {Name: "fragment", Help: "fragments dropped: NAT44 does not reassemble (yet)", Severity: graph.SevWarn},
	ErrTruncated:   {Name: "truncated", Help: "packets too short for the transport header NAT44 rewrites", Severity: graph.SevError},
	ErrNoMapping:   {Name: "no_mapping", Help: "packets to the pool address with no mapping, passed on untranslated (to the host stack)", Severity: graph.SevInfo},
	ErrExpired:     {Name: "mapping_expired", Help: "mappings removed by their idle timeout", Severity: graph.SevInfo},
	ErrUnsupported: {Name: "untranslated_protocol", Help: "packets of a protocol NAT44 does not translate (ICMP other than echo, others), passed on", Severity: graph.SevInfo},
}

type state struct {
	arc  int
	m    *Mappings
	addr [4]byte
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
		n.State = &state{arc: arc, m: m, addr: cfg.Addr.As4()}
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
// interface: source address to the pool's, source port to the mapping's.
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
		if dst := ip.Dst(); !haveLast || dst != lastDst {
			adj := view.Adj(view.Lookup(dst, 0))
			out = adj.Kind != fib.AdjLocal && adj.Port == outside
			lastDst, haveLast = dst, true
		}
		if !out {
			continue // to the router itself, or between inside networks
		}
		slot, csum, code := l4(ip)
		if slot < 0 {
			if code == ErrUnsupported {
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
		rewrite(ip, slot, csum, true, st.addr, st.m.maps[pos].extPort)
		translated++
	}
	n.Count(ErrTranslated, translated)
	n.Enqueue(v, n.Nexts[:v.Len])
	return int(v.Len)
}

// out2in translates what arrives for the pool address back to the inside
// endpoint of its mapping.
func out2in(n *graph.Node, v *pkt.Vector) int {
	st := n.State.(*state)
	a := n.Arena()
	now := n.Graph().Now()
	translated := uint64(0)
	for k, i := range v.Idx[:v.Len] {
		m, l3 := a.L3(i)
		ip := wire.IPv4(l3[:m.Len-m.L3])
		n.Nexts[k] = n.ArcNext(st.arc, m)
		if ip.Dst() != st.addr {
			continue
		}
		slot, csum, code := l4(ip)
		if slot < 0 {
			if code == ErrUnsupported {
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
		pos := st.m.inbound(ext, slot, now)
		if pos < 0 {
			n.Count(ErrNoMapping, 1)
			continue // for the router itself: ip4-local answers
		}
		st.m.touch(pos, true, tcpFlags(ip, slot), now)
		mp := &st.m.maps[pos]
		in := mp.inAddr
		rewrite(ip, slot, csum, false, [4]byte{byte(in >> 24), byte(in >> 16), byte(in >> 8), byte(in)}, mp.inPort)
		translated++
	}
	n.Count(ErrTranslated, translated)
	n.Enqueue(v, n.Nexts[:v.Len])
	return int(v.Len)
}
