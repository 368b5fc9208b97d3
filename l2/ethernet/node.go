// Package ethernet provides ethernet-input: the first node after a port's
// input node. It accepts frames addressed to the receiving interface's MAC
// or to broadcast, classifies tagged frames to the VLAN sub-interface of
// their (port, outer tag, inner tag) (iface.Set.Classify: two array loads)
// and pops the tags (Meta.RxPort becomes the sub-interface, Meta.VLAN its
// VLAN id, Meta.L3 skips the tags), records the L3 offset and dispatches by EtherType through a small
// EtherType -> node table into which the owners of the L3 nodes register
// (Config.RegisterEtherType: IPv4 and ARP today; IPv6, a VLAN node later).
// Frames received on an interface in L2 mode (a bridge member,
// Config.Bridged) go whole to the L2 path (package bridge's l2-learn).
package ethernet

import (
	"encoding/binary"
	"fmt"

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
	ErrUnknownVLAN
	ErrNoInterface
	ErrMulticast
	ErrTooLong
	ErrInterfaceDown
	ErrTagTruncated
	ErrTooManyTags
)

// ErrVLANNotAllowed is the old name of ErrUnknownVLAN.
const ErrVLANNotAllowed = ErrUnknownVLAN

// MaxEtherTypes bounds the EtherTypes one ethernet-input dispatches.
const MaxEtherTypes = 8

// EtherTypeNode is one entry of ethernet-input's dispatch table: frames
// of EtherType Type (after the VLAN tag, if any) go to the node named Node.
type EtherTypeNode struct {
	Type uint16
	Node string
}

// Config says where ethernet-input sends each EtherType and which VLAN
// ids each interface accepts; untagged frames are always accepted. A nil
// Config dispatches nothing and accepts no tagged frames.
type Config struct {
	// AllowVLAN reports whether interface port itself accepts frames
	// tagged 0x8100 vid that no sub-interface of port takes (they stay on
	// port, with Meta.VLAN set). Nil: none; such frames are unknown_vlan.
	AllowVLAN func(port, vid uint16) bool
	// IPv4LinkLocalMulticast takes IPv4 frames to the MACs of the
	// link-local groups (01:00:5e:00:00:00 to ff: 224.0.0.0/24, OSPF, VRRP,
	// IGMP...) for ip4-input, which punts them to the kernel (linux-cp).
	// Unset, they are dropped as multicast like every other group.
	IPv4LinkLocalMulticast bool
	// Types is the EtherType -> node table, filled by the owners of the
	// nodes through RegisterEtherType. An EtherType not in it is counted as
	// unknown_ethertype. Registering 0x8100 (wire.EtherTypeVLAN) sends
	// tagged frames to that node instead of popping the tag here.
	Types []EtherTypeNode
	// Bridged, if set, returns by interface index whether the interface is
	// in L2 mode (a bridge domain member): its frames go whole to the node
	// named L2Node instead of the MAC check and the EtherType dispatch.
	// It is called once per vector and indexed once per packet.
	Bridged func() []bool
	L2Node  string
}

// RegisterEtherType adds typ -> node to the dispatch table. Building the
// node fails if a type is registered twice or more than MaxEtherTypes are.
func (c *Config) RegisterEtherType(typ uint16, node string) {
	c.Types = append(c.Types, EtherTypeNode{Type: typ, Node: node})
}

// typeTable is the resolved dispatch table: types[k] goes to edge k+1.
// It is scanned per packet; the first entries (IPv4) match at once.
type typeTable struct {
	n     int
	types [MaxEtherTypes]uint16
}

// edge returns typ's next edge, or 0 (graph.NextDrop) when unregistered.
func (t *typeTable) edge(typ uint16) uint16 {
	for k := 0; k < t.n; k++ {
		if t.types[k] == typ {
			return uint16(k + 1)
		}
	}
	return 0
}

// resolve checks cfg's table and returns it with the next node names.
func resolve(cfg *Config) (typeTable, []string, error) {
	var t typeTable
	var next []string
	if cfg == nil {
		return t, next, nil
	}
	if len(cfg.Types) > MaxEtherTypes {
		return t, nil, fmt.Errorf("ethernet: %d EtherTypes registered, at most %d", len(cfg.Types), MaxEtherTypes)
	}
	for _, e := range cfg.Types {
		if t.edge(e.Type) != 0 {
			return t, nil, fmt.Errorf("ethernet: EtherType %#04x registered twice", e.Type)
		}
		t.types[t.n] = e.Type
		t.n++
		next = append(next, e.Node)
	}
	if cfg.Bridged != nil {
		next = append(next, cfg.L2Node)
	}
	return t, next, nil
}

// Node returns the ethernet-input registration reading interface MACs from
// ifs. An invalid table (a type twice, too many) fails the graph build.
func Node(ifs *iface.Table, cfg *Config) graph.Registration {
	types, next, tabErr := resolve(cfg)
	return graph.Registration{
		Name: NodeName,
		Next: next,
		Errors: []graph.Error{
			ErrTooShort:      {Name: "too_short", Help: "frame shorter than an Ethernet header"},
			ErrNotForUs:      {Name: "not_for_us", Help: "destination MAC is neither ours nor broadcast", Severity: graph.SevWarn},
			ErrUnknownType:   {Name: "unknown_ethertype", Help: "EtherType not handled (no node registered for it)", Severity: graph.SevWarn},
			ErrUnknownVLAN:   {Name: "unknown_vlan", Help: "VLAN tag(s) for which the port has no sub-interface", Severity: graph.SevWarn},
			ErrNoInterface:   {Name: "no_interface", Help: "frame from an interface the data plane does not know"},
			ErrMulticast:     {Name: "multicast", Help: "multicast destination MAC (only IPv6's 33:33 groups are taken, for ip6-input to filter)", Severity: graph.SevWarn},
			ErrTooLong:       {Name: "too_long", Help: "frame longer than the interface MTU allows (a jumbo frame on a smaller port)"},
			ErrInterfaceDown: {Name: "interface_down", Help: "frame received on an interface set administratively down", Severity: graph.SevWarn},
			ErrTagTruncated:  {Name: "vlan_truncated", Help: "frame ends inside a VLAN tag"},
			ErrTooManyTags:   {Name: "too_many_tags", Help: "VLAN tag left after the sub-interface's tags were popped (more tags than it has)", Severity: graph.SevWarn},
		},
		Init: func(n *graph.Node) error {
			n.State = &iface.CounterSet{}
			return tabErr
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			return input(n, v, ifs.Load(), cfg, &types, n.State.(*iface.CounterSet))
		},
		Format: func(r *graph.TraceRecord) string {
			e := wire.Ethernet(r.Data[:r.Len])
			if r.Len < wire.EthernetLen {
				return "short frame"
			}
			return "ethernet " + e.Src().String() + " -> " + e.Dst().String() + " type 0x" + hex16(uint16(e.Type()))
		},
	}
}

// Counters returns the received packets and bytes of each sub-interface
// (by interface index) that ethernet-input of graph g counted, or nil.
func Counters(g *graph.Graph) []iface.Counters {
	n := g.Node(NodeName)
	if n == nil {
		return nil
	}
	return n.State.(*iface.CounterSet).Snapshot()
}

func input(n *graph.Node, v *pkt.Vector, ifs *iface.Set, cfg *Config, types *typeTable, cs *iface.CounterSet) int {
	a := n.Arena()
	cnt := v.Len
	var bridged []bool
	if cfg != nil && cfg.Bridged != nil {
		bridged = cfg.Bridged()
	}
	l2 := uint16(types.n + 1)
	// The packets of a vector usually share one receive port: look its
	// interface up once per run of equal ports.
	var in *iface.Interface
	inPort, maxLen, subs := -1, 0, false
	mc4 := cfg != nil && cfg.IPv4LinkLocalMulticast
	for k, i := range v.Idx[:cnt] {
		m, d := a.Packet(i)
		if len(d) < wire.EthernetLen {
			n.Drop(m, k, ErrTooShort)
			continue
		}
		if int(m.RxPort) != inPort {
			in, inPort = ifs.Get(m.RxPort), int(m.RxPort)
			if in != nil {
				subs = ifs.HasSubs(m.RxPort)
				maxLen = int(in.MTU) + wire.EthernetLen + wire.VLANLen
				if subs {
					maxLen += wire.VLANLen
				}
			}
		}
		if in == nil {
			n.Drop(m, k, ErrNoInterface)
			continue
		}
		if in.Down {
			n.Drop(m, k, ErrInterfaceDown)
			continue
		}
		if len(d) > maxLen {
			n.Drop(m, k, ErrTooLong)
			continue
		}
		if int(m.RxPort) < len(bridged) && bridged[m.RxPort] {
			n.Nexts[k] = l2
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
				if !mc6 && !(mc4 && dst[0] == 0x01 && dst[1] == 0x00 && dst[2] == 0x5e && dst[3] == 0 && dst[4] == 0 &&
					binary.BigEndian.Uint16(d[12:14]) == uint16(wire.EtherTypeIPv4)) {
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
		e := types.edge(typ)
		if e == 0 && isTPID(typ) {
			c := popTags(n, m, k, d, ifs, cfg, subs, cs)
			if c == 0 {
				continue
			}
			l3 += uint16(c) * wire.VLANLen
			typ = binary.BigEndian.Uint16(d[l3-2 : l3])
			e = types.edge(typ)
		}
		m.L3 = l3
		if mc6 && typ != uint16(wire.EtherTypeIPv6) {
			n.Drop(m, k, ErrMulticast)
			continue
		}
		if e == 0 {
			n.Drop(m, k, ErrUnknownType)
			continue
		}
		n.Nexts[k] = e
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// isTPID reports whether typ is a VLAN tag's TPID (802.1Q or 802.1ad).
func isTPID(typ uint16) bool {
	return typ == uint16(wire.EtherTypeVLAN) || typ == uint16(wire.EtherTypeQinQ)
}

// popTags classifies tagged frame d received on m.RxPort: on success it
// sets m.RxPort to the sub-interface (or leaves it, for a VLAN the port
// itself accepts through cfg.AllowVLAN), m.VLAN to the (inner) VLAN id and
// returns how many tags to skip; otherwise it drops the frame and returns
// 0. The tags stay in the buffer (in front of Meta.L3): an answer in place
// (ARP) leaves with them.
func popTags(n *graph.Node, m *pkt.Meta, k int, d []byte, ifs *iface.Set, cfg *Config, subs bool, cs *iface.CounterSet) int {
	if len(d) < wire.EthernetLen+wire.VLANLen {
		n.Drop(m, k, ErrTagTruncated)
		return 0
	}
	tag1 := binary.BigEndian.Uint32(d[12:16])
	var tag2 uint32
	if len(d) >= wire.EthernetLen+2*wire.VLANLen {
		tag2 = binary.BigEndian.Uint32(d[16:20])
	}
	c := 0
	if subs {
		sub, tags, ok := ifs.Classify(m.RxPort, tag1, tag2)
		if ok {
			x := ifs.Get(sub)
			if x.Down {
				n.Drop(m, k, ErrInterfaceDown)
				return 0
			}
			m.RxPort = sub
			c = tags
			ctr := cs.At(sub)
			ctr.RxPackets++
			ctr.RxBytes += uint64(len(d))
		}
	}
	if c == 0 {
		vid := uint16(tag1) & 0x0fff
		if tag1>>16 != uint32(wire.EtherTypeVLAN) || cfg == nil || cfg.AllowVLAN == nil || !cfg.AllowVLAN(m.RxPort, vid) {
			n.Drop(m, k, ErrUnknownVLAN)
			return 0
		}
		c = 1
	}
	// What follows the popped tags: an EtherType, not another tag.
	end := wire.EthernetLen + c*wire.VLANLen
	if len(d) < end {
		n.Drop(m, k, ErrTagTruncated)
		return 0
	}
	if isTPID(binary.BigEndian.Uint16(d[end-2 : end])) {
		n.Drop(m, k, ErrTooManyTags)
		return 0
	}
	if c == 1 {
		m.VLAN = uint16(tag1) & 0x0fff
	} else {
		m.VLAN = uint16(tag2) & 0x0fff
	}
	return c
}

func hex16(x uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[x>>12], digits[x>>8&15], digits[x>>4&15], digits[x&15]})
}
