package iface

import (
	"encoding/binary"
	"fmt"
)

// MaxTags bounds the VLAN tags of a sub-interface (QinQ: two).
const MaxTags = 2

// TagLen is the number of bytes one VLAN tag adds to a frame.
const TagLen = 4

// Sub describes a VLAN sub-interface of Parent: frames tagged OuterTPID
// OuterVLAN then 0x8100 VLAN (QinQ), or 0x8100 VLAN alone when OuterVLAN
// is 0.
type Sub struct {
	Parent    uint16
	VLAN      uint16 // inner (or only) VLAN id, 1..4094
	OuterVLAN uint16 // outer VLAN id of a QinQ sub-interface, 0 = none
	// OuterTPID is the outer tag's TPID: 0x88a8 (802.1ad, the default
	// when zero) or 0x8100.
	OuterTPID uint16
}

// Tags returns the tag bytes a frame of s carries after its source MAC
// (TPID and TCI per tag, outer first) and their length.
func (s Sub) Tags() (tags [MaxTags * TagLen]byte, n uint8) {
	if s.OuterVLAN != 0 {
		binary.BigEndian.PutUint16(tags[0:], s.outerTPID())
		binary.BigEndian.PutUint16(tags[2:], s.OuterVLAN)
		n = TagLen
	}
	binary.BigEndian.PutUint16(tags[n:], 0x8100)
	binary.BigEndian.PutUint16(tags[n+2:], s.VLAN)
	return tags, n + TagLen
}

func (s Sub) outerTPID() uint16 {
	if s.OuterTPID == 0 {
		return 0x88a8
	}
	return s.OuterTPID
}

// AddSub adds a VLAN sub-interface of s.Parent named name, with the
// parent's MAC and IP MTU mtu (0: the parent's less the tag bytes; more
// than that is refused). It returns the new index.
func (t *Table) AddSub(name string, s Sub, mtu uint16) (uint16, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cur.Load()
	p := old.Get(s.Parent)
	switch {
	case old.ByName(name) != nil:
		return 0, fmt.Errorf("iface: %q exists", name)
	case p == nil:
		return 0, fmt.Errorf("iface: %s: no parent interface %d", name, s.Parent)
	case p.Kind == KindSub:
		return 0, fmt.Errorf("iface: %s: parent %s is itself a sub-interface", name, p.Name)
	case s.VLAN < 1 || s.VLAN > 4094:
		return 0, fmt.Errorf("iface: %s: vlan %d: want 1..4094", name, s.VLAN)
	case s.OuterVLAN > 4094:
		return 0, fmt.Errorf("iface: %s: outer vlan %d: want 1..4094", name, s.OuterVLAN)
	case s.OuterTPID != 0 && s.OuterTPID != 0x88a8 && s.OuterTPID != 0x8100:
		return 0, fmt.Errorf("iface: %s: outer TPID %#04x: want 0x88a8 or 0x8100", name, s.OuterTPID)
	}
	if s.OuterVLAN != 0 {
		s.OuterTPID = s.outerTPID()
	} else {
		s.OuterTPID = 0
	}
	for _, x := range old.ifs {
		if x.Kind == KindSub && x.Sub == s {
			return 0, fmt.Errorf("iface: %s: %s already has these tags", name, x.Name)
		}
	}
	tags, n := s.Tags()
	most := uint16(0)
	if p.MTU > uint16(n) {
		most = p.MTU - uint16(n)
	}
	if mtu == 0 {
		mtu = most
	}
	if mtu > most {
		return 0, fmt.Errorf("iface: %s: mtu %d: at most %d (parent %s's %d less %d tag bytes)", name, mtu, most, p.Name, p.MTU, n)
	}
	ifs := append([]Interface(nil), old.ifs...)
	idx := uint16(len(ifs))
	ifs = append(ifs, Interface{Index: idx, Name: name, MAC: p.MAC, MTU: mtu, Kind: KindSub, Sub: s, Tags: tags, TagsLen: n})
	t.cur.Store(newSet(ifs))
	return idx, nil
}

// subTable classifies a port's tagged frames: by outer TPID (0: 0x8100,
// 1: 0x88a8) and outer VLAN id, an entry naming the sub-interface of that
// single tag and, for QinQ, a table by inner VLAN id. Index values are
// sub-interface index + 1 (0: none).
type subTable struct {
	outer [2]*[4096]subEntry
}

type subEntry struct {
	single uint16
	inner  *[4096]uint16
}

// buildSubs makes the per-parent classification tables of ifs.
func buildSubs(ifs []Interface) []*subTable {
	var subs []*subTable
	for k := range ifs {
		x := &ifs[k]
		if x.Kind != KindSub || x.Name == "" {
			continue
		}
		p := int(x.Sub.Parent)
		for len(subs) <= p {
			subs = append(subs, nil)
		}
		if subs[p] == nil {
			subs[p] = &subTable{}
		}
		st := subs[p]
		c := 0
		vid := x.Sub.VLAN
		if x.Sub.OuterVLAN != 0 {
			vid = x.Sub.OuterVLAN
			if x.Sub.OuterTPID == 0x88a8 {
				c = 1
			}
		}
		if st.outer[c] == nil {
			st.outer[c] = new([4096]subEntry)
		}
		e := &st.outer[c][vid]
		if x.Sub.OuterVLAN == 0 {
			e.single = x.Index + 1
			continue
		}
		if e.inner == nil {
			e.inner = new([4096]uint16)
		}
		e.inner[x.Sub.VLAN] = x.Index + 1
	}
	return subs
}

// HasSubs reports whether interface port has VLAN sub-interfaces.
func (s *Set) HasSubs(port uint16) bool {
	return int(port) < len(s.subs) && s.subs[port] != nil
}

// Classify is what ethernet-input does with a tagged frame received on
// port: tag1 and tag2 are the frame's first two tags as TPID<<16 | TCI
// (tag2 0 when the frame has one tag). It returns the sub-interface the
// frame belongs to and how many tags it consumed (1 or 2), or ok false
// when no sub-interface of port takes it. Two array loads, no map.
func (s *Set) Classify(port uint16, tag1, tag2 uint32) (sub uint16, tags int, ok bool) {
	if int(port) >= len(s.subs) {
		return 0, 0, false
	}
	st := s.subs[port]
	if st == nil {
		return 0, 0, false
	}
	c := 0
	switch tag1 >> 16 {
	case 0x8100:
	case 0x88a8:
		c = 1
	default:
		return 0, 0, false
	}
	o := st.outer[c]
	if o == nil {
		return 0, 0, false
	}
	e := &o[tag1&0x0fff]
	if e.inner != nil && tag2>>16 == 0x8100 {
		if x := e.inner[tag2&0x0fff]; x != 0 {
			return x - 1, 2, true
		}
	}
	if e.single != 0 && c == 0 {
		return e.single - 1, 1, true
	}
	return 0, 0, false
}

// Counters are one interface's packets and bytes as the graph saw them
// (ethernet-input for received frames, interface-output for sent ones):
// a sub-interface's own counters. Each worker keeps its own; readers sum.
type Counters struct {
	RxPackets, RxBytes, TxPackets, TxBytes uint64
}

// CounterSet is one worker's Counters by interface index.
type CounterSet struct {
	c []Counters
}

// At returns interface i's counters, growing the set when i is past its
// end (an interface added since: rare, so the hot path does not allocate).
func (s *CounterSet) At(i uint16) *Counters {
	if int(i) >= len(s.c) {
		s.c = append(s.c, make([]Counters, int(i)+1-len(s.c)+8)...)
	}
	return &s.c[i]
}

// Snapshot returns a copy of the counters by interface index.
func (s *CounterSet) Snapshot() []Counters { return append([]Counters(nil), s.c...) }

// SumCounters adds per-worker snapshots into one slice by interface index.
func SumCounters(per [][]Counters) []Counters {
	var out []Counters
	for _, w := range per {
		for len(out) < len(w) {
			out = append(out, Counters{})
		}
		for i, c := range w {
			o := &out[i]
			o.RxPackets += c.RxPackets
			o.RxBytes += c.RxBytes
			o.TxPackets += c.TxPackets
			o.TxBytes += c.TxBytes
		}
	}
	return out
}
