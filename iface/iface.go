// Package iface holds what the data plane knows of its interfaces: index,
// name, MAC, MTU and addresses (IPv4 and IPv6, kept per family). The control plane edits a Table; nodes
// read an immutable Set, loaded with one atomic operation per vector (RCU
// style), so readers never lock and never see half an update.
package iface

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Kind says what an interface is.
type Kind uint8

const (
	// KindHW is an interface with ports of a driver of its own (the
	// default).
	KindHW Kind = iota
	// KindSub is a VLAN sub-interface: its frames are its parent's
	// carrying its 802.1Q (or 802.1ad + 802.1Q) tags.
	KindSub
	// KindBVI is a bridge virtual interface: the routed interface of a
	// bridge domain, whose frames go through the bridge (package bridge).
	KindBVI
)

// String returns the kind's name as the shows spell it.
func (k Kind) String() string {
	switch k {
	case KindSub:
		return "sub"
	case KindBVI:
		return "bvi"
	default:
		return "hw"
	}
}

// Interface is one data-plane interface.
type Interface struct {
	Index uint16
	Name  string
	Kind  Kind
	MAC   [6]byte
	MTU   uint16         // IP MTU
	Addrs []netip.Prefix // IPv4 interface addresses, e.g. 10.0.1.1/24
	// Addr4 is the first IPv4 address, the source of ICMP errors sent from
	// this interface (zero when there is none).
	Addr4 [4]byte
	// Down is the administrative state: a down interface's received frames
	// are dropped by ethernet-input and its transmitted ones by
	// interface-output, each as interface_down.
	Down bool
	// Addrs6 are the interface's IPv6 addresses, link-local included
	// (fe80::/64 first once assigned), e.g. 2001:db8:1::1/64.
	Addrs6 []netip.Prefix
	// Addr6 is the first global IPv6 address, the source of ICMPv6 errors
	// sent from this interface (zero when there is none); LinkLocal is the
	// interface's link-local address (zero when there is none).
	Addr6, LinkLocal [16]byte
	// Tentative6 are IPv6 addresses still under duplicate address
	// detection (RFC 4862): not answered for, not used as a source.
	Tentative6 []netip.Addr
	// Sub is a sub-interface's parent and VLAN ids (Kind KindSub).
	Sub Sub
	// Tags are the tag bytes a sub-interface's frames carry after the
	// source MAC (TagsLen of them: 4 for 802.1Q, 8 for QinQ; 0 on a
	// hardware interface). Rewrites push them.
	Tags    [MaxTags * TagLen]byte
	TagsLen uint8
	// ChecksumsComplete reports that frames received on the interface
	// never carry a TCP or UDP checksum left partial for offload (its
	// driver cannot deliver one: memif has no offload metadata), so
	// ip4-input skips its partial-checksum test for them. False, the
	// default, keeps the test.
	ChecksumsComplete bool
}

// Port returns the interface whose port carries i's frames: i's parent
// for a sub-interface, i itself otherwise.
func (i *Interface) Port() uint16 {
	if i.Kind == KindSub {
		return i.Sub.Parent
	}
	return i.Index
}

// Has6 reports whether ip is one of the interface's (non-tentative) IPv6
// addresses.
func (i *Interface) Has6(ip [16]byte) bool {
	for _, p := range i.Addrs6 {
		if p.Addr().As16() == ip {
			return true
		}
	}
	return false
}

// IsTentative6 reports whether ip is an address of the interface still
// under duplicate address detection.
func (i *Interface) IsTentative6(ip [16]byte) bool {
	for _, a := range i.Tentative6 {
		if a.As16() == ip {
			return true
		}
	}
	return false
}

// OnLink6 reports whether ip is on one of the interface's IPv6 subnets
// (link-local included).
func (i *Interface) OnLink6(ip [16]byte) bool {
	a := netip.AddrFrom16(ip)
	for _, p := range i.Addrs6 {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Has reports whether ip is one of the interface's addresses.
func (i *Interface) Has(ip [4]byte) bool {
	for _, p := range i.Addrs {
		if p.Addr().Is4() && p.Addr().As4() == ip {
			return true
		}
	}
	return false
}

// Set is an immutable snapshot of every interface, indexed by Index.
type Set struct {
	ifs []Interface
	// local4 holds every interface's IPv4 addresses as big-endian
	// numbers, for IsLocal4.
	local4 []uint32
	// local6 holds every interface's IPv6 addresses as two big-endian
	// halves, for IsLocal6.
	local6 [][2]uint64
	// local6Bits has bit lo&63 set for each address's low half lo: most
	// addresses that are not ours fail this one test.
	local6Bits uint64
	// subs are the VLAN classification tables by parent index (nil: the
	// interface has no sub-interface).
	subs []*subTable
}

// newSet makes the snapshot of ifs.
func newSet(ifs []Interface) *Set {
	s := &Set{ifs: ifs, subs: buildSubs(ifs)}
	for k := range ifs {
		for _, p := range ifs[k].Addrs {
			if p.Addr().Is4() {
				a := p.Addr().As4()
				s.local4 = append(s.local4, uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3]))
			}
		}
		for _, p := range ifs[k].Addrs6 {
			a := p.Addr().As16()
			s.local6 = append(s.local6, [2]uint64{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])})
			s.local6Bits |= 1 << (binary.BigEndian.Uint64(a[8:]) & 63)
		}
	}
	return s
}

// IsLocal6 reports whether the IPv6 address whose halves are hi and lo
// (big-endian, as wire.IPv6.SrcHi and SrcLo return them) is one of the
// interfaces' addresses. It scans a short array and does not allocate.
func (s *Set) IsLocal6(hi, lo uint64) bool {
	if s.local6Bits&(1<<(lo&63)) == 0 {
		return false
	}
	for _, x := range s.local6 {
		if x[1] == lo && x[0] == hi {
			return true
		}
	}
	return false
}

// IsLocal4 reports whether the IPv4 address a (big-endian, as
// wire.IPv4.SrcBits returns it) is one of the interfaces' addresses. It
// scans a short array and does not allocate: it is for the hot path.
func (s *Set) IsLocal4(a uint32) bool {
	for _, x := range s.local4 {
		if x == a {
			return true
		}
	}
	return false
}

// Get returns interface i, or nil when there is none.
func (s *Set) Get(i uint16) *Interface {
	if int(i) >= len(s.ifs) || s.ifs[i].Name == "" {
		return nil
	}
	return &s.ifs[i]
}

// ChecksumsComplete reports whether interface i is marked
// ChecksumsComplete (false for an index with no interface): ip4-input asks
// once per run of packets from one port.
func (s *Set) ChecksumsComplete(i uint16) bool {
	return int(i) < len(s.ifs) && s.ifs[i].ChecksumsComplete
}

// Len reports one past the highest interface index.
func (s *Set) Len() int { return len(s.ifs) }

// All returns the interfaces in index order.
func (s *Set) All() []*Interface {
	var out []*Interface
	for k := range s.ifs {
		if s.ifs[k].Name != "" {
			out = append(out, &s.ifs[k])
		}
	}
	return out
}

// ByName returns the interface named name, or nil.
func (s *Set) ByName(name string) *Interface {
	for k := range s.ifs {
		if s.ifs[k].Name == name {
			return &s.ifs[k]
		}
	}
	return nil
}

// Table is the writable interface table. Writers serialise on a mutex;
// readers call Load.
type Table struct {
	mu  sync.Mutex
	cur atomic.Pointer[Set]
}

// NewTable returns an empty table.
func NewTable() *Table {
	t := &Table{}
	t.cur.Store(&Set{})
	return t
}

// Load returns the current snapshot.
func (t *Table) Load() *Set { return t.cur.Load() }

// Add adds an interface at the next free index and returns the index.
func (t *Table) Add(name string, mac [6]byte, mtu uint16) (uint16, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cur.Load()
	if old.ByName(name) != nil {
		return 0, fmt.Errorf("iface: %q exists", name)
	}
	ifs := append([]Interface(nil), old.ifs...)
	idx := uint16(len(ifs))
	ifs = append(ifs, Interface{Index: idx, Name: name, MAC: mac, MTU: mtu})
	t.cur.Store(newSet(ifs))
	return idx, nil
}

// AddAddress adds an IPv4 or IPv6 address to interface i.
func (t *Table) AddAddress(i uint16, p netip.Prefix) error {
	if p.Addr().Is6() && !p.Addr().Is4In6() {
		return t.addAddress6(i, p, false)
	}
	if !p.Addr().Is4() {
		return fmt.Errorf("iface: %v: not an IPv4 or IPv6 address", p)
	}
	return t.update(i, func(x *Interface) error {
		for _, q := range x.Addrs {
			if q == p {
				return fmt.Errorf("iface: %s already has %v", x.Name, p)
			}
		}
		x.Addrs = append(append([]netip.Prefix(nil), x.Addrs...), p)
		if x.Addr4 == ([4]byte{}) {
			x.Addr4 = p.Addr().As4()
		}
		return nil
	})
}

// SetKind sets interface i's kind.
func (t *Table) SetKind(i uint16, k Kind) error {
	return t.update(i, func(x *Interface) error { x.Kind = k; return nil })
}

// SetDown sets interface i administratively down (or up again).
func (t *Table) SetDown(i uint16, down bool) error {
	return t.update(i, func(x *Interface) error { x.Down = down; return nil })
}

// SetChecksumsComplete marks interface i's received frames as never
// carrying a partial TCP or UDP checksum (Interface.ChecksumsComplete).
func (t *Table) SetChecksumsComplete(i uint16, complete bool) error {
	return t.update(i, func(x *Interface) error { x.ChecksumsComplete = complete; return nil })
}

// AddTentative6 adds IPv6 address p to interface i as tentative: it is
// not used until Confirm6 (duplicate address detection passed).
func (t *Table) AddTentative6(i uint16, p netip.Prefix) error { return t.addAddress6(i, p, true) }

func (t *Table) addAddress6(i uint16, p netip.Prefix, tentative bool) error {
	if !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return fmt.Errorf("iface: %v: not an IPv6 address", p)
	}
	return t.update(i, func(x *Interface) error {
		for _, q := range x.Addrs6 {
			if q.Addr() == p.Addr() {
				return fmt.Errorf("iface: %s already has %v", x.Name, p)
			}
		}
		if tentative {
			for _, a := range x.Tentative6 {
				if a == p.Addr() {
					return fmt.Errorf("iface: %s already has %v (tentative)", x.Name, p)
				}
			}
			x.Tentative6 = append(append([]netip.Addr(nil), x.Tentative6...), p.Addr())
			return nil
		}
		x.Addrs6 = append(append([]netip.Prefix(nil), x.Addrs6...), p)
		setAddr6(x, p.Addr())
		return nil
	})
}

func setAddr6(x *Interface, a netip.Addr) {
	b := a.As16()
	if a.IsLinkLocalUnicast() {
		if x.LinkLocal == ([16]byte{}) {
			x.LinkLocal = b
		}
	} else if x.Addr6 == ([16]byte{}) {
		x.Addr6 = b
	}
}

// Confirm6 moves a tentative IPv6 address of interface i to its addresses
// (plen is its prefix length); it reports whether a was tentative.
func (t *Table) Confirm6(i uint16, a netip.Addr, plen int) bool {
	found := false
	_ = t.update(i, func(x *Interface) error {
		for k, b := range x.Tentative6 {
			if b == a {
				found = true
				x.Tentative6 = append(append([]netip.Addr(nil), x.Tentative6[:k]...), x.Tentative6[k+1:]...)
				x.Addrs6 = append(append([]netip.Prefix(nil), x.Addrs6...), netip.PrefixFrom(a, plen))
				setAddr6(x, a)
				return nil
			}
		}
		return nil
	})
	return found
}

// Abandon6 removes tentative address a of interface i (a duplicate was
// detected); it reports whether a was tentative.
func (t *Table) Abandon6(i uint16, a netip.Addr) bool {
	found := false
	_ = t.update(i, func(x *Interface) error {
		for k, b := range x.Tentative6 {
			if b == a {
				found = true
				x.Tentative6 = append(append([]netip.Addr(nil), x.Tentative6[:k]...), x.Tentative6[k+1:]...)
				return nil
			}
		}
		return nil
	})
	return found
}

// SetMAC changes interface i's MAC address.
func (t *Table) SetMAC(i uint16, mac [6]byte) error {
	return t.update(i, func(x *Interface) error { x.MAC = mac; return nil })
}

func (t *Table) update(i uint16, f func(*Interface) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cur.Load()
	if old.Get(i) == nil {
		return fmt.Errorf("iface: no interface %d", i)
	}
	ifs := append([]Interface(nil), old.ifs...)
	if err := f(&ifs[i]); err != nil {
		return err
	}
	t.cur.Store(newSet(ifs))
	return nil
}

// Owner returns the interface that has ip as one of its addresses, or nil.
func (s *Set) Owner(ip [4]byte) *Interface {
	for k := range s.ifs {
		if s.ifs[k].Has(ip) {
			return &s.ifs[k]
		}
	}
	return nil
}

// DelAddress removes IPv4 address p from interface i.
func (t *Table) DelAddress(i uint16, p netip.Prefix) error {
	return t.update(i, func(x *Interface) error {
		k := -1
		for j, q := range x.Addrs {
			if q == p {
				k = j
			}
		}
		if k < 0 {
			return fmt.Errorf("iface: %s has no address %v", x.Name, p)
		}
		x.Addrs = append(append([]netip.Prefix(nil), x.Addrs[:k]...), x.Addrs[k+1:]...)
		x.Addr4 = [4]byte{}
		for _, q := range x.Addrs {
			if q.Addr().Is4() {
				x.Addr4 = q.Addr().As4()
				break
			}
		}
		return nil
	})
}

// Remove removes interface i. Its index is not reused: a packet or an
// adjacency that still names it finds no interface (Get returns nil).
func (t *Table) Remove(i uint16) error {
	return t.update(i, func(x *Interface) error {
		*x = Interface{Index: i}
		return nil
	})
}
