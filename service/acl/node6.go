package acl

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// IPv6 node names: the inbound ACL on the ip6-unicast arc, the outbound
// one on the ip6-output arc. They read the same Table as the IPv4 nodes
// (an interface's ACL holds rules of both families) and count hits on the
// same rules.
const (
	Node6Name    = "ip6-acl-in"
	OutNode6Name = "ip6-acl-out"
)

// Feature6 and OutFeature6 are the IPv6 nodes' places on their arcs.
var (
	Feature6    = graph.Feature{Node: Node6Name}
	OutFeature6 = graph.Feature{Node: OutNode6Name}
)

// Error codes of ip6-acl-in and ip6-acl-out.
const (
	Err6Denied = iota
	Err6NoMatch
	Err6L4Truncated
	Err6NoACL
	Err6BadExtensions
)

var node6Errors = []graph.Error{
	Err6Denied:        {Name: "denied", Help: "packets denied by an ACL rule", Severity: graph.SevWarn},
	Err6NoMatch:       {Name: "no_match_denied", Help: "packets that matched no rule of a default-deny ACL", Severity: graph.SevWarn},
	Err6L4Truncated:   {Name: "l4_truncated", Help: "first fragments or packets too short for the ports or flags the ACL needs", Severity: graph.SevError},
	Err6NoACL:         {Name: "no_acl", Help: "packets on an interface with the feature on but no ACL bound", Severity: graph.SevInfo},
	Err6BadExtensions: {Name: "bad_extensions", Help: "extension headers the ACL cannot walk to the upper-layer header", Severity: graph.SevError},
}

type scratch6 struct {
	arc   int
	tx    bool
	keys  [pkt.VectorSize]Key6
	rules [pkt.VectorSize]int32
	bad   [pkt.VectorSize]uint8 // per packet: 0, or the error that drops it
}

// Node6 returns ip6-acl-in, a feature of the ip6-unicast arc that permits
// or denies the IPv6 packets an interface receives by the interface's ACL
// (its IPv6 and family-less rules; see Rule.Family). cfg's session
// settings are not used: sessions are IPv4 only.
func Node6(cfg NodeConfig) graph.Registration { return node6(Node6Name, ip6.UnicastArc, false, cfg) }

// OutNode6 returns ip6-acl-out, the same on the ip6-output arc for what an
// interface sends.
func OutNode6(cfg NodeConfig) graph.Registration {
	return node6(OutNode6Name, ip6.OutputArc, true, cfg)
}

func node6(name, arcName string, tx bool, cfg NodeConfig) graph.Registration {
	return graph.Registration{
		Name:   name,
		Errors: node6Errors,
		Init: func(n *graph.Node) error {
			arc, err := n.Graph().ArcID(arcName)
			n.State = &scratch6{arc: arc, tx: tx}
			return err
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return classify6(n, v, cfg.Table.load()) },
	}
}

// classify6 is the IPv6 nodes' function: per run of packets that share an
// ACL, keys are read, classified together, and acted on.
func classify6(n *graph.Node, v *pkt.Vector, byPort []*ACL) int {
	s := n.State.(*scratch6)
	a := n.Arena()
	idx := v.Idx[:v.Len]
	for start := 0; start < len(idx); {
		acl := aclOf(a.Meta(idx[start]), s.tx, byPort)
		end := start + 1
		for end < len(idx) && aclOf(a.Meta(idx[end]), s.tx, byPort) == acl {
			end++
		}
		if acl == nil {
			for k := start; k < end; k++ {
				n.Nexts[k] = n.ArcNext(s.arc, a.Meta(idx[k]))
			}
			n.Count(Err6NoACL, uint64(end-start))
			start = end
			continue
		}
		for k := start; k < end; k++ {
			m, l3 := a.L3(idx[k])
			s.bad[k] = readKey6(&s.keys[k], wire.IPv6(l3[:m.Len-m.L3]))
		}
		c := acl.C.IPv6()
		c.LookupVector(s.keys[start:end], s.rules[start:end])
		run, runLen := int32(-2), uint64(0)
		for k := start; k < end; k++ {
			m := a.Meta(idx[k])
			if s.bad[k] != 0 {
				n.Drop(m, k, int(s.bad[k]))
				continue
			}
			r := s.rules[k]
			if r != run {
				if runLen > 0 {
					acl.count(run, runLen)
				}
				run, runLen = r, 0
			}
			runLen++
			act := acl.Default
			if r >= 0 {
				act = acl.C.rules[r].Action
			}
			switch {
			case act != Deny:
				n.Nexts[k] = n.ArcNext(s.arc, m)
			case r >= 0:
				n.Drop(m, k, Err6Denied)
			default:
				n.Drop(m, k, Err6NoMatch)
			}
		}
		if runLen > 0 {
			acl.count(run, runLen)
		}
		start = end
	}
	n.Enqueue(v, n.Nexts[:v.Len])
	return len(idx)
}

// readKey6 fills k from an IPv6 packet whose fixed header ip6-input (or
// the router, for what it sends) made sure of, walking the extension
// headers to the upper-layer one. It returns 0, or the error code that
// drops the packet: extension headers it cannot walk, or a transport
// header too short for what a rule may test.
func readKey6(k *Key6, ip wire.IPv6) uint8 {
	if len(ip) < wire.IPv6Len {
		return Err6L4Truncated
	}
	*k = Key6{SrcHi: ip.SrcHi(), SrcLo: ip.SrcLo(), DstHi: ip.DstHi(), DstLo: ip.DstLo(), Proto: ip.NextHeader()}
	off := wire.IPv6Len
	if wire.IsExtension(k.Proto) {
		w, e := ip.WalkExtensions(ip6.MaxExtHeaders, ip6.MaxExtHeadsLen)
		if e != wire.ExtOK {
			return Err6BadExtensions
		}
		k.Proto, off = w.Proto, w.Off
		if w.Fragment && w.FragOffset != 0 {
			k.Fragment = true
			return 0
		}
	}
	var ok bool
	if k.SrcPort, k.DstPort, k.TCPFlags, ok = readPorts(ip[off:], k.Proto, ProtoICMPv6); !ok {
		return Err6L4Truncated
	}
	return 0
}
