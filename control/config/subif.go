package config

import (
	"fmt"
	"net/netip"

	"go.yaml.in/yaml/v3"
)

// SubInterface is a VLAN sub-interface: an entry of "interfaces" with a
// parent instead of a driver, e.g. {name: eth0.100, parent: eth0, vlan: 100}
// (802.1Q) or {name: eth0.200.300, parent: eth0, outer_vlan: 200, vlan: 300}
// (QinQ: an 802.1ad outer tag, or 0x8100 with outer_tpid: 0x8100). Its
// frames are the parent's carrying those tags; it has its own index,
// addresses, counters and MTU.
type SubInterface struct {
	Name   string // unique among all interfaces. YAML: name
	Parent string // a hardware interface of this config. YAML: parent
	// VLAN is the (inner) VLAN id, 1..4094. YAML: vlan
	VLAN int
	// OuterVLAN is the outer VLAN id of a QinQ sub-interface, 1..4094;
	// 0 = a single 802.1Q tag. YAML: outer_vlan
	OuterVLAN int
	// OuterTPID is the outer tag's TPID: 0x88a8 (802.1ad, default with
	// outer_vlan) or 0x8100. YAML: outer_tpid
	OuterTPID int
	// MTU is the IP MTU; 0 = the parent's less the tag bytes (4 or 8),
	// which is also the most it may be. YAML: mtu
	MTU int
	// Addresses are its IPv4 and IPv6 addresses. YAML: addresses
	Addresses []netip.Prefix
}

// subKeys are the keys a sub-interface mapping may have.
var subKeys = []string{"name", "parent", "vlan", "outer_vlan", "outer_tpid", "mtu", "addresses"}

// hasKey reports whether mapping n has key k.
func hasKey(n *yaml.Node, k string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == k {
			return true
		}
	}
	return false
}

// subIface decodes one sub-interface. Its parent is checked once every
// interface is read (checkSubs).
func (w *walker) subIface(n *yaml.Node) (SubInterface, bool) {
	var sc SubInterface
	errs := len(w.errs)
	m := w.fields(n, "sub-interface", subKeys...)
	if m == nil {
		return sc, false
	}
	w.require(n, m, "sub-interface", "name", "parent", "vlan")
	what := "sub-interface"
	if v, ok := m["name"]; ok {
		if s, ok := w.str(v, "interface name"); ok {
			if err := checkIfName(s); err != nil {
				w.errorf(v, "interface name: %v", err)
			}
			sc.Name = s
			what = fmt.Sprintf("sub-interface %q", s)
		}
	}
	if v, ok := m["parent"]; ok {
		sc.Parent, _ = w.str(v, what+": parent")
	}
	if v, ok := m["vlan"]; ok {
		sc.VLAN, _ = w.integer(v, what+": vlan", 1, 4094)
	}
	if v, ok := m["outer_vlan"]; ok {
		sc.OuterVLAN, _ = w.integer(v, what+": outer_vlan", 1, 4094)
	}
	if v, ok := m["outer_tpid"]; ok {
		if t, ok := w.integer(v, what+": outer_tpid", 0, 0xffff); ok {
			switch {
			case t != 0x88a8 && t != 0x8100:
				w.errorf(v, "%s: outer_tpid %#04x: want 0x88a8 (802.1ad) or 0x8100", what, t)
			case m["outer_vlan"] == nil:
				w.errorf(v, "%s: outer_tpid without outer_vlan", what)
			}
			sc.OuterTPID = t
		}
	}
	if sc.OuterVLAN != 0 && sc.OuterTPID == 0 {
		sc.OuterTPID = 0x88a8
	}
	if v, ok := m["mtu"]; ok {
		sc.MTU, _ = w.integer(v, what+": mtu", MinMTU, MaxMTU)
	}
	if v, ok := m["addresses"]; ok {
		for _, a := range w.seq(v, what+": addresses", true) {
			if p, ok := w.ifaceAddr(a, what+": address"); ok {
				for _, q := range sc.Addresses {
					if q.Overlaps(p) {
						w.errorf(a, "%s: address %v overlaps %v", what, p, q)
					}
				}
				sc.Addresses = append(sc.Addresses, p)
			}
		}
	}
	return sc, len(w.errs) == errs
}

// TagBytes is how many bytes the sub-interface's tags add to a frame.
func (s *SubInterface) TagBytes() int {
	if s.OuterVLAN != 0 {
		return 8
	}
	return 4
}

// checkSub checks sub-interface s (declared at node n) against the
// hardware interfaces ifs and the sub-interfaces before it.
func (w *walker) checkSub(n *yaml.Node, s SubInterface, ifs []Interface, subs []SubInterface) {
	var parent *Interface
	for k := range ifs {
		if ifs[k].Name == s.Parent {
			parent = &ifs[k]
		}
	}
	if parent == nil {
		for _, o := range subs {
			if o.Name == s.Parent {
				w.errorf(n, "sub-interface %q: parent %q is a sub-interface (QinQ is outer_vlan and vlan on the hardware interface)", s.Name, s.Parent)
				return
			}
		}
		w.errorf(n, "sub-interface %q: parent %q is not an interface of this config", s.Name, s.Parent)
		return
	}
	if parent.MTU != 0 && s.MTU > parent.MTU-s.TagBytes() {
		w.errorf(n, "sub-interface %q: mtu %d is more than parent %s's %d less %d tag bytes", s.Name, s.MTU, parent.Name, parent.MTU, s.TagBytes())
	}
	for _, o := range subs {
		if o.Parent == s.Parent && o.VLAN == s.VLAN && o.OuterVLAN == s.OuterVLAN && o.OuterTPID == s.OuterTPID {
			w.errorf(n, "sub-interface %q: %s already has these tags (sub-interface %q)", s.Name, s.Parent, o.Name)
		}
	}
}
