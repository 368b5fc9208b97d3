package acl

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// reference is the slow, obviously right classifier: the first rule that
// matches, in order.
func reference(rules []Rule, k *Key) int {
	for i := range rules {
		if rules[i].matches(k) {
			return i
		}
	}
	return NoMatch
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func key(src, dst string, proto uint8, sport, dport uint16) Key {
	return Key{Src: addrBits(netip.MustParseAddr(src)), Dst: addrBits(netip.MustParseAddr(dst)), Proto: proto, SrcPort: sport, DstPort: dport}
}

func TestLookupTable(t *testing.T) {
	rules := []Rule{
		0: {Src: pfx("10.0.0.0/8"), Dst: pfx("192.168.1.10/32"), Proto: ProtoTCP, DstPorts: PortRange{22, 22}, Action: Deny},
		1: {Dst: pfx("192.168.1.0/24"), Proto: ProtoTCP, DstPorts: PortRange{1, 1023}, Action: Permit},
		2: {Proto: ProtoTCP, TCPFlags: 0x02, TCPFlagsMask: 0x12, Dst: pfx("192.168.2.0/24"), Action: Deny}, // new connections in
		3: {Proto: ProtoICMP, SrcPorts: PortRange{8, 8}, Action: Permit},                                   // echo requests
		4: {Src: pfx("172.16.0.0/12"), Action: PermitReflect},
		5: {Proto: ProtoUDP, SrcPorts: PortRange{53, 53}, DstPorts: PortRange{1024, 65535}, Action: Permit},
	}
	c, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	syn, synack := key("1.2.3.4", "192.168.2.7", ProtoTCP, 999, 80), key("1.2.3.4", "192.168.2.7", ProtoTCP, 999, 80)
	syn.TCPFlags, synack.TCPFlags = 0x02, 0x12
	frag := key("10.1.1.1", "192.168.1.10", ProtoTCP, 0, 0)
	frag.Fragment = true
	tests := []struct {
		name string
		k    Key
		want int
	}{
		{"ssh from 10/8 denied first", key("10.1.1.1", "192.168.1.10", ProtoTCP, 40000, 22), 0},
		{"ssh from elsewhere permitted", key("11.1.1.1", "192.168.1.10", ProtoTCP, 40000, 22), 1},
		{"high port not permitted", key("11.1.1.1", "192.168.1.10", ProtoTCP, 40000, 8080), NoMatch},
		{"udp to a tcp rule's port", key("11.1.1.1", "192.168.1.10", ProtoUDP, 40000, 22), NoMatch},
		{"syn denied", syn, 2},
		{"syn-ack not", synack, NoMatch},
		{"echo request", key("8.8.8.8", "9.9.9.9", ProtoICMP, 8, 0), 3},
		{"echo reply not", key("8.8.8.8", "9.9.9.9", ProtoICMP, 0, 0), NoMatch},
		{"172.16/12 any protocol", key("172.31.255.255", "9.9.9.9", 47, 0, 0), 4},
		{"172.32 outside /12", key("172.32.0.1", "9.9.9.9", 47, 0, 0), NoMatch},
		{"dns reply", key("8.8.8.8", "10.0.0.1", ProtoUDP, 53, 5353), 5},
		{"dns to a low port", key("8.8.8.8", "10.0.0.1", ProtoUDP, 53, 53), NoMatch},
		{"a fragment matches no ported rule", frag, NoMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Lookup(&tc.k); got != tc.want {
				t.Fatalf("Lookup = %d, want %d", got, tc.want)
			}
			if ref := reference(rules, &tc.k); ref != tc.want {
				t.Fatalf("reference = %d, want %d (the table is wrong)", ref, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, r := range []Rule{
		{Proto: 47, DstPorts: PortRange{1, 2}},
		{Proto: ProtoTCP, DstPorts: PortRange{9, 2}},
		{Proto: ProtoUDP, TCPFlagsMask: 2, TCPFlags: 2},
		{Proto: ProtoTCP, TCPFlagsMask: 2, TCPFlags: 4},
		{Src: pfx("2001:db8::/32"), Action: PermitReflect}, // IPv6 rules do not reflect
		{Proto: ProtoICMP, SrcPorts: PortRange{0, 300}},
		{Action: 9},
	} {
		if _, err := Compile([]Rule{{}, r}); err == nil {
			t.Errorf("rule %+v accepted", r)
		}
	}
}

// randomRules makes n rules in the shapes real ACLs have: host and subnet
// prefixes, a protocol, a port or a range.
func randomRules(rng *rand.Rand, n int) []Rule {
	lens := []int{0, 8, 16, 24, 32}
	rules := make([]Rule, n)
	for i := range rules {
		r := Rule{Action: Action(rng.IntN(3))}
		addr := func() netip.Prefix {
			l := lens[rng.IntN(len(lens))]
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], 0x0a000000|rng.Uint32()&0x00ff0f0f) // a small space: rules overlap
			return netip.PrefixFrom(netip.AddrFrom4(b), l).Masked()
		}
		r.Src, r.Dst = addr(), addr()
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
		case 2:
			r.Proto = ProtoICMP
			r.SrcPorts = PortRange{uint16(rng.IntN(10)), uint16(rng.IntN(10))}
			if r.SrcPorts.Lo > r.SrcPorts.Hi {
				r.SrcPorts.Lo, r.SrcPorts.Hi = r.SrcPorts.Hi, r.SrcPorts.Lo
			}
		}
		rules[i] = r
	}
	return rules
}

func randomKey(rng *rand.Rand) Key {
	protos := []uint8{ProtoTCP, ProtoUDP, ProtoICMP, 47}
	return Key{
		Src: 0x0a000000 | rng.Uint32()&0x00ff0f0f, Dst: 0x0a000000 | rng.Uint32()&0x00ff0f0f,
		Proto: protos[rng.IntN(len(protos))], SrcPort: uint16(rng.IntN(220)), DstPort: uint16(rng.IntN(220)),
		TCPFlags: uint8(rng.IntN(64)), Fragment: rng.IntN(10) == 0,
	}
}

// TestLookupMatchesReference compares the classifier with the reference
// on random rule sets and packets.
func TestLookupMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hits := map[int]int{}
	for _, n := range []int{1, 10, 100, 1000} {
		rules := randomRules(rng, n)
		c, err := Compile(rules)
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]Key, 256)
		out := make([]int32, 256)
		for j := range 20000 {
			k := randomKey(rng)
			got, want := c.Lookup(&k), reference(rules, &k)
			if got != want {
				t.Fatalf("%d rules, key %+v: Lookup %d, reference %d (%v)", n, k, got, want, rules[max(want, 0)])
			}
			keys[j%256] = k
			if j%256 == 255 {
				c.LookupVector(keys, out)
				for i := range keys {
					if want := reference(rules, &keys[i]); int(out[i]) != want {
						t.Fatalf("%d rules, key %+v: LookupVector %d, reference %d", n, keys[i], out[i], want)
					}
				}
			}
			if got != NoMatch {
				hits[n]++
			}
		}
	}
	if hits[100] == 0 || hits[1000] == 0 {
		t.Fatalf("hits per rule count %v: the comparison tested nothing", hits)
	}
}

// FuzzLookup compares the classifier with the reference on rule sets and
// keys the fuzzer makes.
func FuzzLookup(f *testing.F) {
	f.Add(uint64(1), uint16(10), []byte{1, 2, 3, 4, 10, 0, 0, 1, 6, 0, 80, 0, 22, 2})
	f.Add(uint64(7), uint16(500), make([]byte, 14))
	f.Fuzz(func(t *testing.T, seed uint64, n uint16, kb []byte) {
		rng := rand.New(rand.NewPCG(seed, 3))
		rules := randomRules(rng, int(n%2000)+1)
		c, err := Compile(rules)
		if err != nil {
			t.Fatal(err)
		}
		var k Key
		if len(kb) >= 14 {
			k = Key{Src: binary.BigEndian.Uint32(kb), Dst: binary.BigEndian.Uint32(kb[4:]), Proto: kb[8],
				SrcPort: binary.BigEndian.Uint16(kb[9:]), DstPort: binary.BigEndian.Uint16(kb[11:]), TCPFlags: kb[13]}
		} else {
			k = randomKey(rng)
		}
		for range 50 {
			if got, want := c.Lookup(&k), reference(rules, &k); got != want {
				t.Fatalf("key %+v: Lookup %d, reference %d", k, got, want)
			}
			k = randomKey(rng)
		}
	})
}

func TestLookupAllocatesNothing(t *testing.T) {
	c, err := Compile(randomRules(rand.New(rand.NewPCG(5, 6)), 1000))
	if err != nil {
		t.Fatal(err)
	}
	k := randomKey(rand.New(rand.NewPCG(7, 8)))
	if a := testing.AllocsPerRun(1000, func() { c.Lookup(&k) }); a != 0 {
		t.Fatalf("Lookup allocates %v", a)
	}
}

// benchRules makes n rules shaped as a firewall's: sources from /16 to
// hosts in 10/8, destinations subnets or hosts, mostly one service port
// of TCP or UDP, some port ranges, some ICMP, a few any-protocol rules;
// benchKey draws packets toward those rules' addresses.
func benchRules(rng *rand.Rand, n int) []Rule {
	srcLens, dstLens := []int{16, 20, 24, 28, 32}, []int{24, 32}
	ports := []uint16{22, 25, 53, 80, 123, 443, 993, 3306, 5432, 6379, 8080, 8443}
	rules := make([]Rule, n)
	for i := range rules {
		var s, d [4]byte
		binary.BigEndian.PutUint32(s[:], 0x0a000000|rng.Uint32()&0xffffff)
		binary.BigEndian.PutUint32(d[:], 0xc0a80000|rng.Uint32()&0xffff)
		r := Rule{Src: netip.PrefixFrom(netip.AddrFrom4(s), srcLens[rng.IntN(len(srcLens))]).Masked(),
			Dst: netip.PrefixFrom(netip.AddrFrom4(d), dstLens[rng.IntN(len(dstLens))]).Masked(), Action: Action(rng.IntN(2))}
		switch x := rng.IntN(20); {
		case x < 12:
			r.Proto, r.DstPorts = ProtoTCP, PortRange{ports[rng.IntN(len(ports))], 0}
			r.DstPorts.Hi = r.DstPorts.Lo
		case x < 16:
			r.Proto, r.DstPorts = ProtoUDP, PortRange{ports[rng.IntN(len(ports))], 0}
			r.DstPorts.Hi = r.DstPorts.Lo
		case x < 18:
			r.Proto, r.DstPorts = ProtoTCP, PortRange{1024, 65535}
		case x < 19:
			r.Proto = ProtoICMP
		}
		rules[i] = r
	}
	return rules
}

func benchKey(rng *rand.Rand, rules []Rule) Key {
	r := rules[rng.IntN(len(rules))]
	k := Key{Src: addrBits(r.Src.Addr()) | rng.Uint32()&^mask(r.Src.Bits()), Dst: addrBits(r.Dst.Addr()) | rng.Uint32()&^mask(r.Dst.Bits()),
		Proto: ProtoTCP, SrcPort: uint16(1024 + rng.IntN(60000)), DstPort: 443}
	if r.Proto != 0 {
		k.Proto = r.Proto
	}
	if !r.DstPorts.Any() {
		k.DstPort = r.DstPorts.Lo
	}
	if rng.IntN(4) == 0 {
		k.DstPort = uint16(rng.IntN(65536)) // a miss on the port
	}
	return k
}

// BenchmarkLookup measures a lookup's cost from 10 to 10 000 rules
// (benchRules), on keys aimed at the rules (benchKey).
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		rng := rand.New(rand.NewPCG(9, uint64(n)))
		rules := benchRules(rng, n)
		c, err := Compile(rules)
		if err != nil {
			b.Fatal(err)
		}
		keys := make([]Key, 4096)
		for i := range keys {
			keys[i] = benchKey(rng, rules)
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportMetric(float64(c.Tuples()), "tuples")
			for i := 0; b.Loop(); i++ {
				c.Lookup(&keys[i&4095])
			}
		})
		out := make([]int32, 256)
		b.Run(fmt.Sprintf("vector/rules=%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				c.LookupVector(keys[i&15*256:][:256], out)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/pkt")
		})
	}
}
