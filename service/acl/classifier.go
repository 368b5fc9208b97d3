package acl

import (
	"fmt"
	"math/bits"
	"slices"
)

// NoMatch is what Lookup returns when no rule matches.
const NoMatch = -1

// Classifier is a compiled, immutable list of rules. Lookup is safe for
// concurrent use; a change compiles a new Classifier.
type Classifier struct {
	rules  []Rule
	packed []packedRule // rules as the lookup checks them
	tuples []tuple      // by best rule, ascending
	v6     *Classifier6 // the same rules for IPv6 packets
}

// packedRule is a Rule in 32 bytes, so that a slot's rules cost a cache
// line to check, not the 100-odd bytes of a Rule with its netip.Prefixes.
type packedRule struct {
	src, srcMask, dst, dstMask uint32
	sportLo, sportHi           uint16
	dportLo, dportHi           uint16
	proto                      uint8
	flags, flagsMask           uint8
	ported                     bool // a port or flag condition: no fragment matches
}

func pack(r *Rule) packedRule {
	p := packedRule{srcMask: mask(prefixLen(r.Src)), dstMask: mask(prefixLen(r.Dst)), proto: r.Proto,
		sportLo: 0, sportHi: 0xffff, dportLo: 0, dportHi: 0xffff, flags: r.TCPFlags, flagsMask: r.TCPFlagsMask}
	if r.Src.IsValid() {
		p.src = addrBits(r.Src.Addr()) & p.srcMask
	}
	if r.Dst.IsValid() {
		p.dst = addrBits(r.Dst.Addr()) & p.dstMask
	}
	if !r.SrcPorts.Any() {
		p.sportLo, p.sportHi = r.SrcPorts.Lo, r.SrcPorts.Hi
	}
	if !r.DstPorts.Any() {
		p.dportLo, p.dportHi = r.DstPorts.Lo, r.DstPorts.Hi
	}
	p.ported = !r.SrcPorts.Any() || !r.DstPorts.Any() || r.TCPFlagsMask != 0
	return p
}

// matches is Rule.matches on the packed form.
func (p *packedRule) matches(k *Key) bool {
	if k.Src&p.srcMask != p.src || k.Dst&p.dstMask != p.dst || p.proto != 0 && p.proto != k.Proto {
		return false
	}
	if !p.ported {
		return true
	}
	return !k.Fragment && p.sportLo <= k.SrcPort && k.SrcPort <= p.sportHi && p.dportLo <= k.DstPort &&
		k.DstPort <= p.dportHi && k.TCPFlags&p.flagsMask == p.flags
}

// tuple holds the rules of one shape: source and destination prefix
// length classes (lengthClass), whether the protocol is given, and whether the destination port
// is a single port (then it is part of the hash key; a range is checked
// against each rule of the list).
type tuple struct {
	srcMask, dstMask uint32
	protoExact       bool
	dportExact       bool
	best             int32 // the lowest rule index in the tuple
	table            table
}

// table is an open-addressing hash table from masked (src, dst, proto) to
// the ascending list of rule indices with that key.
type table struct {
	slots []slot
	shift uint8   // 64 - log2(len(slots))
	lists []int32 // the slots' rule lists, concatenated
}

type slot struct {
	src, dst uint32
	dport    uint16
	proto    uint8
	used     bool
	n        uint16 // rules in the list (Compile refuses more than 65535 with one key)
	off      int32  // start of the list in lists
}

func hash(src, dst uint32, proto uint8, dport uint16) uint64 {
	h := (uint64(src)<<32 | uint64(dst)) ^ (uint64(proto)<<16|uint64(dport))*0x9e3779b97f4a7c15
	h *= 0xff51afd7ed558ccd
	return h ^ h>>29
}

func (t *table) find(src, dst uint32, proto uint8, dport uint16) *slot {
	m := len(t.slots) - 1
	for i := int(hash(src, dst, proto, dport) >> t.shift); ; i = (i + 1) & m {
		s := &t.slots[i]
		if !s.used {
			return nil
		}
		if s.src == src && s.dst == dst && s.proto == proto && s.dport == dport {
			return s
		}
	}
}

// lengthClass is the prefix length a rule's tuple masks with: lengths are
// merged down to a multiple of 8, at most 24 (TupleMerge, Daly and Torng,
// 2017), so a rule set has at most 4×4 address shapes whatever its size;
// the rules of a slot are then checked in full, prefixes included.
func lengthClass(bits int) int { return min(bits&^7, 24) }

// MaxRules is the most rules a Classifier takes.
const MaxRules = 1 << 20

// Compile checks and compiles rules, in priority order (the first match
// wins).
func Compile(rules []Rule) (*Classifier, error) {
	if len(rules) > MaxRules {
		return nil, fmt.Errorf("acl: %d rules, at most %d", len(rules), MaxRules)
	}
	type shape struct {
		srcLen, dstLen         int
		protoExact, dportExact bool
	}
	type key struct {
		src, dst uint32
		proto    uint8
		dport    uint16
	}
	groups := map[shape]map[key][]int32{}
	var order []shape
	c := &Classifier{rules: slices.Clone(rules), packed: make([]packedRule, len(rules))}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("acl: rule %d (%v): %w", i+1, r, err)
		}
		if r.Family() == 6 {
			continue // in the IPv6 classifier only
		}
		c.packed[i] = pack(&r)
		dportExact := !r.DstPorts.Any() && r.DstPorts.Lo == r.DstPorts.Hi
		sh := shape{lengthClass(prefixLen(r.Src)), lengthClass(prefixLen(r.Dst)), r.Proto != 0, dportExact}
		g := groups[sh]
		if g == nil {
			g = map[key][]int32{}
			groups[sh] = g
			order = append(order, sh) // first rule of a shape is its best
		}
		k := key{mask(sh.srcLen), mask(sh.dstLen), r.Proto, 0}
		if dportExact {
			k.dport = r.DstPorts.Lo
		}
		if r.Src.IsValid() {
			k.src &= addrBits(r.Src.Addr())
		} else {
			k.src = 0
		}
		if r.Dst.IsValid() {
			k.dst &= addrBits(r.Dst.Addr())
		} else {
			k.dst = 0
		}
		if len(g[k]) == 0xffff {
			return nil, fmt.Errorf("acl: rule %d: more than 65535 rules with the same addresses and protocol", i+1)
		}
		g[k] = append(g[k], int32(i))
	}
	for _, sh := range order {
		g := groups[sh]
		size := 1 << bits.Len(uint(len(g)+len(g)/2)) // a power of two, at most 2/3 full
		tp := tuple{srcMask: mask(sh.srcLen), dstMask: mask(sh.dstLen), protoExact: sh.protoExact, dportExact: sh.dportExact, best: int32(len(rules))}
		tp.table = table{slots: make([]slot, size), shift: uint8(64 - bits.TrailingZeros(uint(size)))}
		keys := make([]key, 0, len(g))
		for k := range g {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b key) int { return int(g[a][0]) - int(g[b][0]) }) // deterministic layout
		for _, k := range keys {
			list := g[k]
			tp.best = min(tp.best, list[0])
			m := size - 1
			i := int(hash(k.src, k.dst, k.proto, k.dport) >> tp.table.shift)
			for tp.table.slots[i].used {
				i = (i + 1) & m
			}
			tp.table.slots[i] = slot{src: k.src, dst: k.dst, dport: k.dport, proto: k.proto, used: true, n: uint16(len(list)), off: int32(len(tp.table.lists))}
			tp.table.lists = append(tp.table.lists, list...)
		}
		c.tuples = append(c.tuples, tp)
	}
	slices.SortFunc(c.tuples, func(a, b tuple) int { return int(a.best) - int(b.best) })
	c.v6 = compile6(c.rules)
	return c, nil
}

// IPv6 returns the classifier of the same rules for IPv6 packets (rule
// indices are shared, so hit counters are too).
func (c *Classifier) IPv6() *Classifier6 { return c.v6 }

// Rules returns the rules in priority order.
func (c *Classifier) Rules() []Rule { return c.rules }

// Tuples returns how many distinct rule shapes the classifier probes at
// most per packet.
func (c *Classifier) Tuples() int { return len(c.tuples) }

// Lookup returns the index of the first rule that matches k, or NoMatch.
func (c *Classifier) Lookup(k *Key) int {
	best := int32(len(c.rules))
	for i := range c.tuples {
		t := &c.tuples[i]
		if t.best >= best {
			break // no rule left in this or later tuples can win
		}
		proto, dport := k.Proto, k.DstPort
		if !t.protoExact {
			proto = 0
		}
		if !t.dportExact {
			dport = 0
		}
		s := t.table.find(k.Src&t.srcMask, k.Dst&t.dstMask, proto, dport)
		if s == nil {
			continue
		}
		for _, ri := range t.table.lists[s.off : s.off+int32(s.n)] {
			if ri >= best {
				break
			}
			if c.packed[ri].matches(k) {
				best = ri
				break
			}
		}
	}
	if int(best) == len(c.rules) {
		return NoMatch
	}
	return int(best)
}

// LookupVector is Lookup for a vector of keys, writing one rule index (or
// NoMatch) per key into out (len(out) >= len(keys)). It probes tuple by
// tuple across the whole vector, so the probes of different packets are
// independent loads that the CPU overlaps: with a rule set larger than the
// cache, the misses of a vector are paid together, not one after another.
func (c *Classifier) LookupVector(keys []Key, out []int32) {
	out = out[:len(keys)]
	none := int32(len(c.rules))
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
			s := t.table.find(k.Src&t.srcMask, k.Dst&t.dstMask, proto, dport)
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
