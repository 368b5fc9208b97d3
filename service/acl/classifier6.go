package acl

import (
	"math/bits"
	"net/netip"
	"slices"
)

// Key6 is what the IPv6 classifier reads of a packet: addresses as two
// 64-bit halves (Hi first on the wire), and the fields of Key. For ICMPv6,
// SrcPort holds the type and DstPort the code. Fragment marks a non-first
// fragment.
type Key6 struct {
	SrcHi, SrcLo, DstHi, DstLo uint64
	Proto                      uint8
	TCPFlags                   uint8
	Fragment                   bool
	SrcPort, DstPort           uint16
}

// Classifier6 classifies IPv6 packets against the IPv6 rules (Family 6)
// and the family-less ones of a rule list, with the rule indices of the
// whole list. It is a tuple space like Classifier: tuples by source and
// destination prefix length classes (0, 16, 32, 48, 64: the masked upper
// halves of the addresses are the hash key, TupleMerge), whether the
// protocol is given and whether the destination port is a single one (then
// it is in the key too); a slot's rules are then checked in full (128-bit
// prefixes, ports, flags). At most 100 tuples, whatever the rule count.
type Classifier6 struct {
	n      int32     // rules in the whole list (the no-match sentinel)
	packed []packed6 // by rule index; only the IPv6 rules' are filled
	tuples []tuple6  // by best rule, ascending
}

type packed6 struct {
	srcHi, srcLo, srcMaskHi, srcMaskLo uint64
	dstHi, dstLo, dstMaskHi, dstMaskLo uint64
	sportLo, sportHi, dportLo, dportHi uint16
	proto, flags, flagsMask            uint8
	ported                             bool
}

func (p *packed6) matches(k *Key6) bool {
	if k.SrcHi&p.srcMaskHi != p.srcHi || k.SrcLo&p.srcMaskLo != p.srcLo ||
		k.DstHi&p.dstMaskHi != p.dstHi || k.DstLo&p.dstMaskLo != p.dstLo || p.proto != 0 && p.proto != k.Proto {
		return false
	}
	if !p.ported {
		return true
	}
	return !k.Fragment && p.sportLo <= k.SrcPort && k.SrcPort <= p.sportHi && p.dportLo <= k.DstPort &&
		k.DstPort <= p.dportHi && k.TCPFlags&p.flagsMask == p.flags
}

// mask128 is a prefix length's mask as two halves.
func mask128(bitsLen int) (hi, lo uint64) {
	switch {
	case bitsLen <= 0:
		return 0, 0
	case bitsLen < 64:
		return ^uint64(0) << (64 - bitsLen), 0
	case bitsLen < 128:
		return ^uint64(0), ^uint64(0) << (128 - bitsLen)
	}
	return ^uint64(0), ^uint64(0)
}

func addr128(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

func prefix128(p netip.Prefix) (hi, lo, mhi, mlo uint64) {
	if !p.IsValid() {
		return 0, 0, 0, 0
	}
	mhi, mlo = mask128(p.Bits())
	hi, lo = addr128(p.Addr())
	return hi & mhi, lo & mlo, mhi, mlo
}

func pack6(r *Rule) packed6 {
	p := packed6{proto: r.Proto, sportHi: 0xffff, dportHi: 0xffff, flags: r.TCPFlags, flagsMask: r.TCPFlagsMask}
	p.srcHi, p.srcLo, p.srcMaskHi, p.srcMaskLo = prefix128(r.Src)
	p.dstHi, p.dstLo, p.dstMaskHi, p.dstMaskLo = prefix128(r.Dst)
	if !r.SrcPorts.Any() {
		p.sportLo, p.sportHi = r.SrcPorts.Lo, r.SrcPorts.Hi
	}
	if !r.DstPorts.Any() {
		p.dportLo, p.dportHi = r.DstPorts.Lo, r.DstPorts.Hi
	}
	p.ported = !r.SrcPorts.Any() || !r.DstPorts.Any() || r.TCPFlagsMask != 0
	return p
}

// appliesTo6 reports whether r is in the IPv6 classifier: an IPv6 rule, or
// a family-less one that neither reflects nor polices (see Rule.Family).
func appliesTo6(r *Rule) bool {
	switch r.Family() {
	case 6:
		return true
	case 0:
		return r.Action != PermitReflect && r.Police == ""
	}
	return false
}

// matches6 is the reference semantics of r against an IPv6 packet.
func (r *Rule) matches6(k *Key6) bool {
	if !appliesTo6(r) {
		return false
	}
	src := netip.AddrFrom16(from128(k.SrcHi, k.SrcLo))
	dst := netip.AddrFrom16(from128(k.DstHi, k.DstLo))
	if r.Src.IsValid() && !r.Src.Contains(src) || r.Dst.IsValid() && !r.Dst.Contains(dst) {
		return false
	}
	if r.Proto != 0 && r.Proto != k.Proto {
		return false
	}
	return r.matchesPorts(k.Fragment, k.SrcPort, k.DstPort, k.TCPFlags)
}

func from128(hi, lo uint64) (b [16]byte) {
	for i := range 8 {
		b[7-i] = byte(hi >> (8 * i))
		b[15-i] = byte(lo >> (8 * i))
	}
	return b
}

type tuple6 struct {
	srcMask, dstMask uint64 // of the upper halves
	protoExact       bool
	dportExact       bool
	best             int32
	table            table6
}

// table6 is an open-addressing hash table from the masked upper halves and
// protocol to the ascending list of rule indices with that key.
type table6 struct {
	slots []slot6
	shift uint8
	lists []int32
}

type slot6 struct {
	src, dst uint64
	dport    uint16
	proto    uint8
	used     bool
	n        uint32
	off      int32
}

func hash6(src, dst uint64, proto uint8, dport uint16) uint64 {
	h := src ^ bits.RotateLeft64(dst, 31) ^ (uint64(proto)<<16|uint64(dport))*0x9e3779b97f4a7c15
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>29
}

func (t *table6) find(src, dst uint64, proto uint8, dport uint16) *slot6 {
	m := len(t.slots) - 1
	for i := int(hash6(src, dst, proto, dport) >> t.shift); ; i = (i + 1) & m {
		s := &t.slots[i]
		if !s.used {
			return nil
		}
		if s.src == src && s.dst == dst && s.proto == proto && s.dport == dport {
			return s
		}
	}
}

// lengthClass6 merges a prefix length down to a multiple of 16, at most 64.
func lengthClass6(b int) int { return min(b&^15, 64) }

// compile6 builds the IPv6 classifier of rules, which Compile validated.
func compile6(rules []Rule) *Classifier6 {
	type shape struct {
		srcLen, dstLen         int
		protoExact, dportExact bool
	}
	type key struct {
		src, dst uint64
		proto    uint8
		dport    uint16
	}
	groups := map[shape]map[key][]int32{}
	var order []shape
	c := &Classifier6{n: int32(len(rules)), packed: make([]packed6, len(rules))}
	for i := range rules {
		r := &rules[i]
		if !appliesTo6(r) {
			continue
		}
		c.packed[i] = pack6(r)
		dportExact := !r.DstPorts.Any() && r.DstPorts.Lo == r.DstPorts.Hi
		sh := shape{lengthClass6(prefixLen(r.Src)), lengthClass6(prefixLen(r.Dst)), r.Proto != 0, dportExact}
		g := groups[sh]
		if g == nil {
			g = map[key][]int32{}
			groups[sh] = g
			order = append(order, sh)
		}
		sm, _ := mask128(sh.srcLen)
		dm, _ := mask128(sh.dstLen)
		k := key{c.packed[i].srcHi & sm, c.packed[i].dstHi & dm, r.Proto, 0}
		if dportExact {
			k.dport = r.DstPorts.Lo
		}
		g[k] = append(g[k], int32(i))
	}
	for _, sh := range order {
		g := groups[sh]
		size := 1 << bits.Len(uint(len(g)+len(g)/2))
		sm, _ := mask128(sh.srcLen)
		dm, _ := mask128(sh.dstLen)
		tp := tuple6{srcMask: sm, dstMask: dm, protoExact: sh.protoExact, dportExact: sh.dportExact, best: c.n}
		tp.table = table6{slots: make([]slot6, size), shift: uint8(64 - bits.TrailingZeros(uint(size)))}
		keys := make([]key, 0, len(g))
		for k := range g {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b key) int { return int(g[a][0]) - int(g[b][0]) })
		for _, k := range keys {
			list := g[k]
			tp.best = min(tp.best, list[0])
			m := size - 1
			i := int(hash6(k.src, k.dst, k.proto, k.dport) >> tp.table.shift)
			for tp.table.slots[i].used {
				i = (i + 1) & m
			}
			tp.table.slots[i] = slot6{src: k.src, dst: k.dst, dport: k.dport, proto: k.proto, used: true, n: uint32(len(list)), off: int32(len(tp.table.lists))}
			tp.table.lists = append(tp.table.lists, list...)
		}
		c.tuples = append(c.tuples, tp)
	}
	slices.SortFunc(c.tuples, func(a, b tuple6) int { return int(a.best) - int(b.best) })
	return c
}

// Tuples returns how many rule shapes the classifier probes at most per
// packet.
func (c *Classifier6) Tuples() int { return len(c.tuples) }

// Lookup returns the index of the first rule that matches k, or NoMatch.
func (c *Classifier6) Lookup(k *Key6) int {
	var out [1]int32
	keys := [1]Key6{*k}
	c.LookupVector(keys[:], out[:])
	return int(out[0])
}

// LookupVector is Lookup for a vector of keys (see Classifier.LookupVector).
//
// It is Classifier.LookupVector's loop over 64-bit hashed halves, written
// twice on purpose. One generic loop over both (tuple, table and slot
// generic in the key word, key fields and matches as methods of type
// parameters) was measured under callgrind (scripts/callgrind.sh,
// Lookup/vector, 2026-11-29): IPv4 went from 305 to 389 instructions a
// packet at 10 rules and from 670 to 800 at 1000, ip4-acl-in's classify
// from 832 to 869, and Classifier6.Lookup began to allocate. Go compiles
// the method calls on type parameters through a dictionary (indirect, not
// inlined, and the keys escape), so the fold would slow both families.
func (c *Classifier6) LookupVector(keys []Key6, out []int32) {
	out = out[:len(keys)]
	none := c.n
	for i := range out {
		out[i] = none
	}
	for ti := range c.tuples {
		t := &c.tuples[ti]
		for i := range keys {
			if t.best >= out[i] {
				continue
			}
			k := &keys[i]
			proto, dport := k.Proto, k.DstPort
			if !t.protoExact {
				proto = 0
			}
			if !t.dportExact {
				dport = 0
			}
			s := t.table.find(k.SrcHi&t.srcMask, k.DstHi&t.dstMask, proto, dport)
			if s == nil {
				continue
			}
			for _, ri := range t.table.lists[s.off : s.off+int32(s.n)] {
				if ri >= out[i] {
					break
				}
				if c.packed[ri].matches(k) {
					out[i] = ri
					break
				}
			}
		}
	}
	for i := range out {
		if out[i] == none {
			out[i] = NoMatch
		}
	}
}
