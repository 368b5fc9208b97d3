package acl

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func reference6(rules []Rule, k *Key6) int {
	for i := range rules {
		if rules[i].matches6(k) {
			return i
		}
	}
	return NoMatch
}

func key6(src, dst string, proto uint8, sport, dport uint16) Key6 {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	k := Key6{Proto: proto, SrcPort: sport, DstPort: dport}
	k.SrcHi, k.SrcLo = addr128(s)
	k.DstHi, k.DstLo = addr128(d)
	return k
}

// TestLookup6Table: families kept apart, any matching both, the first
// match winning across tuples, and /128 and /100 prefixes (beyond the
// 64-bit hash key) checked in full.
func TestLookup6Table(t *testing.T) {
	rules := []Rule{
		{Src: pfx("10.0.0.0/8"), Action: Deny},                                                       // 0: v4 only
		{Dst: pfx("2001:db8:1::5/128"), Action: Deny},                                                // 1
		{Src: pfx("2001:db8:2::/100"), Proto: ProtoTCP, DstPorts: PortRange{80, 80}, Action: Permit}, // 2
		{Proto: ProtoICMPv6, SrcPorts: PortRange{128, 128}, Action: Permit},                          // 3: any family, echo request
		{Dst: pfx("2001:db8::/32"), Action: Deny},                                                    // 4
		{Proto: ProtoUDP, Action: Permit},                                                            // 5: any family
		{Action: PermitReflect},                                                                      // 6: reflect, v4 only
	}
	c, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		k    Key6
		want int
	}{
		{"host /128 deny", key6("2001:db8:9::1", "2001:db8:1::5", ProtoICMPv6, 128, 0), 1},
		{"next to the /128", key6("2001:db8:9::1", "2001:db8:1::6", ProtoICMPv6, 128, 0), 3},
		{"/100 tcp 80", key6("2001:db8:2::0fff:1", "2001:db8:7::1", ProtoTCP, 999, 80), 2},
		{"outside the /100", key6("2001:db8:2::1000:1", "2001:db8:7::1", ProtoTCP, 999, 80), 4},
		{"/100 other port", key6("2001:db8:2::1", "2001:db8:7::1", ProtoTCP, 999, 81), 4},
		{"udp elsewhere", key6("2001:db9::1", "2001:dbf::1", ProtoUDP, 1, 2), 5},
		{"nothing (reflect is v4 only)", key6("2001:db9::1", "2001:dbf::1", ProtoTCP, 1, 2), NoMatch},
		{"v4-mapped is not v4", key6("::ffff:10.0.0.1", "2001:dbf::1", 47, 0, 0), NoMatch},
	} {
		if got := c.IPv6().Lookup(&tc.k); got != tc.want {
			t.Errorf("%s: rule %d, want %d", tc.name, got, tc.want)
		}
		if got := reference6(rules, &tc.k); got != tc.want {
			t.Errorf("%s: reference says %d, want %d", tc.name, got, tc.want)
		}
	}
	// The v4 classifier ignores the v6 rules.
	k4 := Key{Src: 0x0b000001, Dst: 0x0b000002, Proto: 47}
	if got := c.Lookup(&k4); got != 6 {
		t.Errorf("v4 key: rule %d, want 6", got)
	}
}

func TestCompile6Errors(t *testing.T) {
	for _, r := range []Rule{
		{Src: pfx("10.0.0.0/8"), Dst: pfx("2001:db8::/32")},
		{Src: pfx("2001:db8::/32"), Action: PermitReflect},
		{Dst: pfx("2001:db8::/32"), Action: Permit, Police: "p"},
		{Src: pfx("::ffff:10.0.0.0/104")},
	} {
		if _, err := Compile([]Rule{r}); err == nil {
			t.Errorf("%v compiled", r)
		}
	}
}

// randomRules6 makes rules over a small IPv6 space (so they overlap), with
// prefix lengths on and off the 16-bit classes and past 64 bits, mixed
// with family-less and IPv4 rules.
func randomRules6(rng *rand.Rand, n int) []Rule {
	lens := []int{0, 8, 16, 30, 48, 64, 72, 100, 127, 128}
	rules := make([]Rule, n)
	for i := range rules {
		r := Rule{Action: Action(rng.IntN(2))}
		addr := func() netip.Prefix {
			return netip.PrefixFrom(randomAddr6(rng), lens[rng.IntN(len(lens))]).Masked()
		}
		switch rng.IntN(8) {
		case 0: // family-less
		case 1:
			r.Src = pfx("10.0.0.0/8")
		default:
			r.Src, r.Dst = addr(), addr()
			if rng.IntN(3) == 0 {
				r.Src = netip.Prefix{}
			}
		}
		switch rng.IntN(4) {
		case 0:
			r.Proto = ProtoTCP
			r.DstPorts = PortRange{uint16(rng.IntN(100)), uint16(100 + rng.IntN(100))}
			if rng.IntN(4) == 0 {
				r.TCPFlags, r.TCPFlagsMask = 0x02, 0x12
			}
		case 1:
			r.Proto = ProtoUDP
			p := uint16(rng.IntN(200))
			r.SrcPorts = PortRange{p, p}
			if rng.IntN(2) == 0 {
				r.DstPorts = PortRange{p, p} // an exact port: in the hash key
			}
		case 2:
			r.Proto = ProtoICMPv6
			r.SrcPorts = PortRange{uint16(128 + rng.IntN(2)), 129}
		}
		rules[i] = r
	}
	return rules
}

func randomAddr6(rng *rand.Rand) netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[5] = byte(rng.IntN(4))
	b[7] = byte(rng.IntN(4))
	b[9] = byte(rng.IntN(2))
	b[14] = byte(rng.IntN(2))
	b[15] = byte(rng.IntN(4))
	return netip.AddrFrom16(b)
}

func randomKey6(rng *rand.Rand) Key6 {
	protos := []uint8{ProtoTCP, ProtoUDP, ProtoICMPv6, 47}
	k := Key6{Proto: protos[rng.IntN(len(protos))], SrcPort: uint16(rng.IntN(220)), DstPort: uint16(rng.IntN(220)),
		TCPFlags: uint8(rng.IntN(64)), Fragment: rng.IntN(10) == 0}
	if k.Proto == ProtoICMPv6 {
		k.SrcPort = uint16(127 + rng.IntN(3))
	}
	k.SrcHi, k.SrcLo = addr128(randomAddr6(rng))
	k.DstHi, k.DstLo = addr128(randomAddr6(rng))
	return k
}

func TestLookup6MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	hits := 0
	for _, n := range []int{1, 10, 100, 1000} {
		rules := randomRules6(rng, n)
		c, err := Compile(rules)
		if err != nil {
			t.Fatal(err)
		}
		c6 := c.IPv6()
		keys := make([]Key6, 256)
		out := make([]int32, 256)
		for j := range 20000 {
			k := randomKey6(rng)
			got, want := c6.Lookup(&k), reference6(rules, &k)
			if got != want {
				t.Fatalf("%d rules, key %+v: Lookup %d, reference %d", n, k, got, want)
			}
			keys[j%256] = k
			if j%256 == 255 {
				c6.LookupVector(keys, out)
				for i := range keys {
					if want := reference6(rules, &keys[i]); int(out[i]) != want {
						t.Fatalf("%d rules: LookupVector %d, reference %d", n, out[i], want)
					}
				}
			}
			if got != NoMatch && rules[got].Family() == 6 {
				hits++
			}
		}
		if n == 1000 && c6.Tuples() > 100 {
			t.Errorf("%d tuples", c6.Tuples())
		}
	}
	if hits < 1000 {
		t.Fatalf("%d hits on IPv6 rules: the comparison tested little", hits)
	}
}

// FuzzLookup6 compares the IPv6 classifier with the reference.
func FuzzLookup6(f *testing.F) {
	f.Add(uint64(1), uint16(10), []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 6, 0, 80, 0, 22, 2})
	f.Add(uint64(7), uint16(900), make([]byte, 38))
	f.Add(uint64(3), uint16(0), []byte{})
	f.Fuzz(func(t *testing.T, seed uint64, n uint16, kb []byte) {
		rng := rand.New(rand.NewPCG(seed, 5))
		rules := randomRules6(rng, int(n%2000)+1)
		c, err := Compile(rules)
		if err != nil {
			t.Fatal(err)
		}
		var k Key6
		if len(kb) >= 38 {
			k = Key6{SrcHi: binary.BigEndian.Uint64(kb), SrcLo: binary.BigEndian.Uint64(kb[8:]),
				DstHi: binary.BigEndian.Uint64(kb[16:]), DstLo: binary.BigEndian.Uint64(kb[24:]), Proto: kb[32],
				SrcPort: binary.BigEndian.Uint16(kb[33:]), DstPort: binary.BigEndian.Uint16(kb[35:]), TCPFlags: kb[37]}
		} else {
			k = randomKey6(rng)
		}
		for range 50 {
			if got, want := c.IPv6().Lookup(&k), reference6(rules, &k); got != want {
				t.Fatalf("key %+v: Lookup %d, reference %d", k, got, want)
			}
			k = randomKey6(rng)
		}
	})
}

func TestLookup6AllocatesNothing(t *testing.T) {
	c, err := Compile(randomRules6(rand.New(rand.NewPCG(5, 6)), 1000))
	if err != nil {
		t.Fatal(err)
	}
	k := randomKey6(rand.New(rand.NewPCG(7, 8)))
	if a := testing.AllocsPerRun(1000, func() { c.IPv6().Lookup(&k) }); a != 0 {
		t.Fatalf("Lookup allocates %v", a)
	}
}

// benchRules6 is benchRules in IPv6: the IPv4 prefixes placed in the
// upper half (a /16..32 source becomes a /48..64, a /24 or /32
// destination a /56 or a host /128).
func benchRules6(rng *rand.Rand, n int) []Rule {
	rules := benchRules(rng, n)
	for i := range rules {
		r := &rules[i]
		var s, d [16]byte
		s[0], s[1], s[2], s[3] = 0x20, 0x01, 0x0d, 0xb8
		d[0], d[1], d[2], d[3] = 0x20, 0x01, 0x0d, 0xb9
		copy(s[4:], r.Src.Addr().AsSlice())
		copy(d[4:], r.Dst.Addr().AsSlice())
		dl := 56
		if r.Dst.Bits() == 32 {
			binary.BigEndian.PutUint64(d[8:], rng.Uint64())
			dl = 128
		}
		if r.Proto == ProtoICMP {
			r.Proto = ProtoICMPv6
		}
		r.Src = netip.PrefixFrom(netip.AddrFrom16(s), r.Src.Bits()+32).Masked()
		r.Dst = netip.PrefixFrom(netip.AddrFrom16(d), dl).Masked()
	}
	return rules
}

func benchKey6(rng *rand.Rand, rules []Rule) Key6 {
	r := rules[rng.IntN(len(rules))]
	k := Key6{Proto: ProtoTCP, SrcPort: uint16(1024 + rng.IntN(60000)), DstPort: 443}
	sh, sl := addr128(r.Src.Addr())
	mh, ml := mask128(r.Src.Bits())
	k.SrcHi, k.SrcLo = sh|rng.Uint64()&^mh, sl|rng.Uint64()&^ml
	dh, dl := addr128(r.Dst.Addr())
	mh, ml = mask128(r.Dst.Bits())
	k.DstHi, k.DstLo = dh|rng.Uint64()&^mh, dl|rng.Uint64()&^ml
	if r.Proto != 0 {
		k.Proto = r.Proto
	}
	if !r.DstPorts.Any() {
		k.DstPort = r.DstPorts.Lo
	}
	return k
}

// BenchmarkLookup6 is BenchmarkLookup for the IPv6 classifier.
func BenchmarkLookup6(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		rng := rand.New(rand.NewPCG(9, uint64(n)))
		rules := benchRules6(rng, n)
		c, err := Compile(rules)
		if err != nil {
			b.Fatal(err)
		}
		c6 := c.IPv6()
		keys := make([]Key6, 4096)
		hit := 0
		for i := range keys {
			keys[i] = benchKey6(rng, rules)
			if c6.Lookup(&keys[i]) != NoMatch {
				hit++
			}
		}
		if hit < len(keys)/2 {
			b.Fatalf("%d rules: only %d of %d keys match a rule", n, hit, len(keys))
		}
		out := make([]int32, 256)
		b.Run(fmt.Sprintf("vector/rules=%d", n), func(b *testing.B) {
			b.ReportMetric(float64(c6.Tuples()), "tuples")
			for i := 0; b.Loop(); i++ {
				c6.LookupVector(keys[i&15*256:][:256], out)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/pkt")
		})
	}
}
