// Package ethernet provides ethernet-input: the first node after a port's
// input node. It accepts frames addressed to the receiving interface's MAC
// or to broadcast, pops one 802.1Q tag (recording the VLAN id in Meta.VLAN),
// records the L3 offset and dispatches by EtherType.
package ethernet

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// NodeName is the node's registered name.
const NodeName = "ethernet-input"

// Error codes of ethernet-input.
const (
	ErrTooShort = iota
	ErrNotForUs
	ErrUnknownType
	ErrVLANNotAllowed
	ErrNoInterface
	ErrMulticast
	ErrTooLong
)

// Next edges of ethernet-input (edge 0 is error-drop).
const (
	nextIP4 = 1 + iota
	nextARP
	nextIP6
)

// Config says which VLAN ids each interface accepts; untagged frames are
// always accepted. A nil Config accepts no tagged frames.
type Config struct {
	// AllowVLAN reports whether interface port accepts frames tagged vid.
	AllowVLAN func(port, vid uint16) bool
}

// Node returns the ethernet-input registration reading interface MACs from ifs.
func Node(ifs *iface.Table, cfg *Config) graph.Registration {
	return graph.Registration{
		Name: NodeName,
		Next: []string{"ip4-input", "arp-input", "ip6-input"},
		Errors: []graph.Error{
			ErrTooShort:       {Name: "too_short", Help: "frame shorter than an Ethernet header"},
			ErrNotForUs:       {Name: "not_for_us", Help: "destination MAC is neither ours nor broadcast", Severity: graph.SevWarn},
			ErrUnknownType:    {Name: "unknown_ethertype", Help: "EtherType not handled (not IPv4, ARP or IPv6)", Severity: graph.SevWarn},
			ErrVLANNotAllowed: {Name: "vlan_not_allowed", Help: "802.1Q tag for a VLAN this interface does not accept", Severity: graph.SevWarn},
			ErrNoInterface:    {Name: "no_interface", Help: "frame from an interface the data plane does not know"},
			ErrMulticast:      {Name: "multicast", Help: "multicast destination MAC (only IPv6's 33:33 groups are taken, for ip6-input to filter)", Severity: graph.SevWarn},
			ErrTooLong:        {Name: "too_long", Help: "frame longer than the interface MTU allows (a jumbo frame on a smaller port)"},
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return input(n, v, ifs.Load(), cfg) },
		Format: func(r *graph.TraceRecord) string {
			e := wire.Ethernet(r.Data[:r.Len])
			if r.Len < wire.EthernetLen {
				return "short frame"
			}
			return "ethernet " + e.Src().String() + " -> " + e.Dst().String() + " type 0x" + hex16(uint16(e.Type()))
		},
	}
}

func input(n *graph.Node, v *pkt.Vector, ifs *iface.Set, cfg *Config) int {
	a := n.Arena()
	cnt := v.Len
	// The packets of a vector usually share one receive port: look its
	// interface up once per run of equal ports.
	var in *iface.Interface
	inPort, maxLen := -1, 0
	for k, i := range v.Idx[:cnt] {
		m, d := a.Packet(i)
		if len(d) < wire.EthernetLen {
			n.Drop(m, k, ErrTooShort)
			continue
		}
		if int(m.RxPort) != inPort {
			in, inPort = ifs.Get(m.RxPort), int(m.RxPort)
			if in != nil {
				maxLen = int(in.MTU) + wire.EthernetLen + wire.VLANLen
			}
		}
		if in == nil {
			n.Drop(m, k, ErrNoInterface)
			continue
		}
		if len(d) > maxLen {
			n.Drop(m, k, ErrTooLong)
			continue
		}
		_ = d[13]
		dst := [6]byte(d[0:6])
		m.Flags &^= pkt.FlagL2Broadcast
		// IPv6 multicast (33:33/16: all-nodes, solicited-node groups) is
		// taken for IPv6 only; ip6-input keeps the groups we are in.
		mc6 := false
		if dst != in.MAC {
			if dst != wire.BroadcastMAC {
				mc6 = dst[0] == 0x33 && dst[1] == 0x33
				if !mc6 {
					if dst[0]&1 != 0 {
						n.Drop(m, k, ErrMulticast)
					} else {
						n.Drop(m, k, ErrNotForUs)
					}
					continue
				}
			}
			m.Flags |= pkt.FlagL2Broadcast
		}
		typ := binary.BigEndian.Uint16(d[12:14])
		l3 := uint16(wire.EthernetLen)
		m.VLAN = 0
		if typ == uint16(wire.EtherTypeVLAN) {
			if len(d) < wire.EthernetLen+wire.VLANLen {
				n.Drop(m, k, ErrTooShort)
				continue
			}
			vid := binary.BigEndian.Uint16(d[14:16]) & 0x0fff
			if cfg == nil || cfg.AllowVLAN == nil || !cfg.AllowVLAN(m.RxPort, vid) {
				n.Drop(m, k, ErrVLANNotAllowed)
				continue
			}
			m.VLAN = vid
			typ = binary.BigEndian.Uint16(d[16:18])
			l3 += wire.VLANLen
		}
		m.L3 = l3
		if mc6 && typ != uint16(wire.EtherTypeIPv6) {
			n.Drop(m, k, ErrMulticast)
			continue
		}
		switch typ {
		case uint16(wire.EtherTypeIPv4):
			n.Nexts[k] = nextIP4
		case uint16(wire.EtherTypeARP):
			n.Nexts[k] = nextARP
		case uint16(wire.EtherTypeIPv6):
			n.Nexts[k] = nextIP6
		default:
			n.Drop(m, k, ErrUnknownType)
		}
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

func hex16(x uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[x>>12], digits[x>>8&15], digits[x>>4&15], digits[x&15]})
}
