package config

import (
	"fmt"
	"net/netip"
	"time"

	"go.yaml.in/yaml/v3"
)

// Bridge is a learning bridge domain (package l2/bridge): its members are
// in L2 mode (what they receive is bridged, not routed) and its optional
// bridge virtual interface (BVI) is the domain's routed interface. YAML:
//
//	bridges:
//	  - id: 1
//	    members: [eth1, eth2, {name: eth3, split_horizon: 1}]
//	    bvi: {name: bvi1, addresses: [10.0.9.1/24], mac: "02:b1:00:00:00:01", mtu: 1500}
//	    age: 300s          # how long a learnt MAC lives unseen (1s..24h)
//	    max_macs: 4096     # the domain's MAC table bound per worker
type Bridge struct {
	ID      uint32
	Members []BridgeMember
	BVI     *BVI // nil: none
	Age     time.Duration
	MaxMACs int
}

// BridgeMember is an interface in a bridge domain; members of the same
// non-zero split-horizon group never forward to each other.
type BridgeMember struct {
	Interface    string
	SplitHorizon uint8
}

// BVI is a bridge domain's routed interface. Its name joins the interface
// names that routes and neighbours may use.
type BVI struct {
	Name      string
	MAC       MAC // zero: one derived from the domain id
	MTU       int // default DefaultMTU
	Addresses []netip.Prefix
}

// Bridge defaults and bounds.
const (
	DefaultBridgeAge     = 300 * time.Second
	DefaultBridgeMaxMACs = 4096
	MaxBridgeMACs        = 1 << 20
	MaxBridgeID          = 1<<24 - 1
)

// BVIMAC returns the BVI's MAC: the configured one, or 02:b1 followed by
// the domain id.
func (b *Bridge) BVIMAC() [6]byte {
	if b.BVI != nil && !b.BVI.MAC.IsZero() {
		return [6]byte(b.BVI.MAC)
	}
	return [6]byte{0x02, 0xb1, 0, byte(b.ID >> 16), byte(b.ID >> 8), byte(b.ID)}
}

// bridges decodes the bridge domains. ifaces are the interfaces; the BVIs'
// names are added to l3 (the names routes and neighbours may use).
func (w *walker) bridges(n *yaml.Node, c *Config, l3 map[string]bool) []Bridge {
	var out []Bridge
	ids, members := seenAt{}, seenAt{}
	for _, it := range w.seq(n, "bridges", false) {
		b, ok := w.bridge(it, c, l3)
		if !ok {
			continue
		}
		if l, dup := ids.first(fmt.Sprint(b.ID), it.Line); dup {
			w.errorf(it, "bridge %d: id already used at line %d", b.ID, l)
			continue
		}
		for _, m := range b.Members {
			if l, dup := members.first(m.Interface, it.Line); dup {
				w.errorf(it, "bridge %d: interface %q is already in the bridge at line %d", b.ID, m.Interface, l)
				ok = false
			}
		}
		if ok {
			out = append(out, b)
		}
	}
	return out
}

func (w *walker) bridge(n *yaml.Node, c *Config, l3 map[string]bool) (Bridge, bool) {
	b := Bridge{Age: DefaultBridgeAge, MaxMACs: DefaultBridgeMaxMACs}
	errs := len(w.errs)
	f := w.fields(n, "bridge", "id", "members", "bvi", "age", "max_macs")
	if f == nil {
		return b, false
	}
	w.require(n, f, "bridge", "id", "members")
	if v, ok := f["id"]; ok {
		id, _ := w.integer(v, "bridge id", 1, MaxBridgeID)
		b.ID = uint32(id)
	}
	byName := map[string]*Interface{}
	for k := range c.Interfaces {
		byName[c.Interfaces[k].Name] = &c.Interfaces[k]
	}
	if v, ok := f["members"]; ok {
		items := w.seq(v, "bridge members", false)
		if v.Kind == yaml.SequenceNode && len(items) == 0 {
			w.errorf(v, "bridge members: at least one interface")
		}
		for _, it := range items {
			m, ok := w.bridgeMember(it)
			if !ok {
				continue
			}
			ic := byName[m.Interface]
			switch {
			case ic == nil:
				w.errorf(it, "bridge member: no interface named %q", m.Interface)
			case len(ic.Addresses) > 0:
				w.errorf(it, "bridge member %q has addresses: a bridged interface is L2 only (give the addresses to the bridge's bvi)", m.Interface)
			default:
				b.Members = append(b.Members, m)
			}
		}
	}
	if v, ok := f["bvi"]; ok {
		b.BVI = w.bvi(v, l3)
	}
	if v, ok := f["age"]; ok {
		b.Age, _ = w.duration(v, "bridge age", time.Second, 24*time.Hour)
	}
	if v, ok := f["max_macs"]; ok {
		b.MaxMACs, _ = w.integer(v, "bridge max_macs", 1, MaxBridgeMACs)
	}
	return b, len(w.errs) == errs
}

func (w *walker) bridgeMember(n *yaml.Node) (BridgeMember, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := w.str(n, "bridge member")
		return BridgeMember{Interface: s}, ok
	}
	f := w.fields(n, "bridge member", "name", "split_horizon")
	if f == nil {
		return BridgeMember{}, false
	}
	w.require(n, f, "bridge member", "name")
	var m BridgeMember
	ok := true
	if v, has := f["name"]; has {
		m.Interface, ok = w.str(v, "bridge member name")
	}
	if v, has := f["split_horizon"]; has {
		g, good := w.integer(v, "bridge member split_horizon", 0, 255)
		m.SplitHorizon, ok = uint8(g), ok && good
	}
	return m, ok && m.Interface != ""
}

func (w *walker) bvi(n *yaml.Node, l3 map[string]bool) *BVI {
	f := w.fields(n, "bvi", "name", "mac", "mtu", "addresses")
	if f == nil {
		return nil
	}
	w.require(n, f, "bvi", "name")
	b := &BVI{MTU: DefaultMTU}
	if v, ok := f["name"]; ok {
		if s, ok := w.str(v, "bvi name"); ok {
			if err := checkIfName(s); err != nil {
				w.errorf(v, "bvi name: %v", err)
			} else if l3[s] {
				w.errorf(v, "bvi name: %q is already an interface's name", s)
			}
			b.Name = s
			l3[s] = true
		}
	}
	if v, ok := f["mac"]; ok {
		b.MAC, _ = w.unicastMAC(v, "bvi mac")
	}
	if v, ok := f["mtu"]; ok {
		b.MTU, _ = w.integer(v, "bvi mtu", MinMTU, MaxMTU)
	}
	if v, ok := f["addresses"]; ok {
		for _, it := range w.seq(v, "bvi addresses", true) {
			if p, ok := w.ifaceAddr(it, "bvi address"); ok {
				b.Addresses = append(b.Addresses, p)
			}
		}
	}
	return b
}

type (
	fileBridge struct {
		ID      uint32   `yaml:"id"`
		Members []any    `yaml:"members,flow"`
		BVI     *fileBVI `yaml:"bvi,omitempty"`
		Age     string   `yaml:"age"`
		MaxMACs int      `yaml:"max_macs"`
	}
	fileBVI struct {
		Name      string   `yaml:"name"`
		MAC       string   `yaml:"mac,omitempty"`
		MTU       int      `yaml:"mtu"`
		Addresses []string `yaml:"addresses,omitempty,flow"`
	}
	fileBridgeMember struct {
		Name         string `yaml:"name"`
		SplitHorizon uint8  `yaml:"split_horizon"`
	}
)

func marshalBridges(bs []Bridge) []fileBridge {
	var out []fileBridge
	for _, b := range bs {
		fb := fileBridge{ID: b.ID, Age: b.Age.String(), MaxMACs: b.MaxMACs}
		for _, m := range b.Members {
			if m.SplitHorizon == 0 {
				fb.Members = append(fb.Members, m.Interface)
			} else {
				fb.Members = append(fb.Members, fileBridgeMember{Name: m.Interface, SplitHorizon: m.SplitHorizon})
			}
		}
		if v := b.BVI; v != nil {
			fv := &fileBVI{Name: v.Name, MTU: v.MTU}
			if !v.MAC.IsZero() {
				fv.MAC = v.MAC.String()
			}
			for _, p := range v.Addresses {
				fv.Addresses = append(fv.Addresses, p.String())
			}
			fb.BVI = fv
		}
		out = append(out, fb)
	}
	return out
}
