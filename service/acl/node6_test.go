package acl

import (
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// frame6 is an IPv6 packet to dst (UDP sport 5000 dport 9, or an ICMPv6
// echo request) received on rx and, for the output arc, sent on tx.
func frame6(rx, tx uint16, dst string, next uint8, ext ...[]byte) graphtest.Packet {
	d := frames.IPv6(frames.Spec6{Src: [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: 2}, Dst: pfx(dst + "/128").Addr().As16(), Next: next,
		Ext: ext, Payload: 8})
	return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: rx, TxPort: tx, L3: wire.EthernetLen, Len: uint16(len(d))}}
}

func TestNode6PermitDenyAndCounts(t *testing.T) {
	c, err := Compile([]Rule{
		{Src: pfx("10.0.0.0/8"), Action: Permit},                                                // 0: v4, never hit here
		{Proto: ProtoUDP, DstPorts: PortRange{9, 9}, Dst: pfx("2001:db8:5::/48"), Action: Deny}, // 1
		{Proto: ProtoICMPv6, SrcPorts: PortRange{128, 128}, Action: Permit},                     // 2: any family
		{Dst: pfx("2001:db8:5::/48"), Action: Permit},                                           // 3
	})
	if err != nil {
		t.Fatal(err)
	}
	acl := New("in", c, Deny)
	var tab Table
	tab.Set([]*ACL{acl}) // port 0 only
	arc := graph.Arc{Name: ip6.UnicastArc, Start: ip6.InputName, End: ip6.LookupName, Features: []graph.Feature{Feature6}}
	h := graphtest.New(t, Node6(NodeConfig{Table: &tab}), graphtest.Options{Arcs: []graph.Arc{arc}})
	for port := uint16(0); port < 2; port++ {
		if err := h.Graph().EnableFeature(ip6.UnicastArc, Node6Name, port, true); err != nil {
			t.Fatal(err)
		}
	}
	short := frame6(0, 0, "2001:db8:5::1", wire.IPProtoUDP)
	short.Data = short.Data[:wire.EthernetLen+wire.IPv6Len+2] // UDP ports cut
	short.Meta.Len = uint16(len(short.Data))
	wire.IPv6(short.Data[wire.EthernetLen:]).SetPayloadLen(2)
	hbh := []byte{0, 0, 1, 4, 0, 0, 0, 0} // hop-by-hop, PadN
	r := h.Run(
		frame6(0, 0, "2001:db8:5::1", wire.IPProtoUDP),      // rule 1
		frame6(0, 0, "2001:db8:5::1", wire.IPProtoUDP, hbh), // rule 1, past an extension header
		frame6(0, 0, "2001:db8:5::1", wire.IPProtoICMPv6),   // rule 2
		frame6(0, 0, "2001:db8:5::1", 47),                   // rule 3
		frame6(0, 0, "2001:db8:6::1", wire.IPProtoUDP),      // no rule: default deny
		short,
		frame6(1, 0, "2001:db8:5::1", wire.IPProtoUDP), // port without an ACL
	)
	want := []string{"drop ip6-acl-in: denied", "drop ip6-acl-in: denied", ip6.LookupName, ip6.LookupName,
		"drop ip6-acl-in: no_match_denied", "drop ip6-acl-in: l4_truncated", ip6.LookupName}
	for i, w := range want {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("packet %d: %s, want %s", i, got, w)
		}
	}
	hits, miss := acl.Hits()
	if hits[0] != 0 || hits[1] != 2 || hits[2] != 1 || hits[3] != 1 || miss != 1 {
		t.Errorf("hits %v, no match %d; want [0 2 1 1], 1", hits, miss)
	}
	if r.Counters["ip6-acl-in: no_acl"] != 1 {
		t.Errorf("counters %v", r.Counters)
	}
}

// TestOutNode6ByTransmitPort: ip6-acl-out filters by the transmit port.
func TestOutNode6ByTransmitPort(t *testing.T) {
	c, err := Compile([]Rule{{Dst: pfx("2001:db8:5::/48"), Proto: ProtoUDP, Action: Deny}})
	if err != nil {
		t.Fatal(err)
	}
	acl := New("out", c, Permit)
	var tab Table
	tab.Set([]*ACL{nil, acl}) // transmit port 1
	arc := graph.Arc{Name: ip6.OutputArc, Start: ip6.RewriteName, End: ip6.OutputName, Features: []graph.Feature{OutFeature6}, ByTxPort: true}
	h := graphtest.New(t, OutNode6(NodeConfig{Table: &tab}), graphtest.Options{Arcs: []graph.Arc{arc}})
	if err := h.Graph().EnableFeature(ip6.OutputArc, OutNode6Name, 1, true); err != nil {
		t.Fatal(err)
	}
	r := h.Run(
		frame6(0, 1, "2001:db8:5::1", wire.IPProtoUDP),    // denied on tx 1
		frame6(1, 0, "2001:db8:5::1", wire.IPProtoUDP),    // tx 0: no feature
		frame6(0, 1, "2001:db8:5::1", wire.IPProtoICMPv6), // default permit
	)
	want := []string{"drop ip6-acl-out: denied", ip6.OutputName, ip6.OutputName}
	for i, w := range want {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("packet %d: %s, want %s", i, got, w)
		}
	}
	if hits, miss := acl.Hits(); hits[0] != 1 || miss != 1 {
		t.Errorf("hits %v, no match %d", hits, miss)
	}
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = frame6(0, uint16(k&1), "2001:db8:5::1", []uint8{wire.IPProtoUDP, wire.IPProtoICMPv6}[k%2])
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(OutNode6Name, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestNode6Garbage: any bytes after a valid fixed header are dropped or
// passed, never a panic, and every buffer comes back.
func TestNode6Garbage(t *testing.T) {
	c, _ := Compile([]Rule{{Proto: ProtoTCP, DstPorts: PortRange{22, 22}, Action: Permit}})
	var tab Table
	tab.Set([]*ACL{New("in", c, Deny)})
	arc := graph.Arc{Name: ip6.UnicastArc, Start: ip6.InputName, End: ip6.LookupName, Features: []graph.Feature{Feature6}}
	h := graphtest.New(t, Node6(NodeConfig{Table: &tab}), graphtest.Options{Arcs: []graph.Arc{arc}})
	if err := h.Graph().EnableFeature(ip6.UnicastArc, Node6Name, 0, true); err != nil {
		t.Fatal(err)
	}
	var pkts []graphtest.Packet
	for n := 0; n < 64; n++ {
		p := frame6(0, 0, "2001:db8::1", wire.IPProtoTCP)
		ip := wire.IPv6(p.Data[wire.EthernetLen:])
		ip[6] = []uint8{0, 43, 44, 60, 6, 17, 58, 51}[n%8]
		for k := wire.IPv6Len; k < len(ip); k++ {
			ip[k] = byte(n*31 + k*7)
		}
		p.Data = p.Data[:wire.EthernetLen+wire.IPv6Len+n%len(ip[wire.IPv6Len:])]
		p.Meta.Len = uint16(len(p.Data))
		wire.IPv6(p.Data[wire.EthernetLen:]).SetPayloadLen(uint16(len(p.Data) - wire.EthernetLen - wire.IPv6Len))
		pkts = append(pkts, p)
	}
	r := h.Run(pkts...)
	if len(r.Out) != len(pkts) {
		t.Fatalf("%d packets out of %d", len(r.Out), len(pkts))
	}
}

// FuzzReadKey6 feeds readKey6 any bytes after a fixed header: it never
// panics, and a key it reads of TCP or UDP has the ports at the offset
// the extension header walk found.
func FuzzReadKey6(f *testing.F) {
	f.Add(uint8(wire.IPProtoUDP), []byte{0x13, 0x88, 0, 9, 0, 12, 0, 0})
	f.Add(uint8(wire.IPProtoHopByHop), []byte{6, 0, 1, 4, 0, 0, 0, 0, 0, 80, 1, 187, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 2, 0, 0})
	f.Add(uint8(wire.IPProtoFragment), []byte{17, 0, 0, 8, 0, 0, 0, 1})
	f.Add(uint8(wire.IPProtoRouting), []byte{58, 0, 0, 0, 0, 0, 0, 0, 128, 0})
	f.Add(uint8(wire.IPProtoDestOpts), []byte{60, 200})
	f.Fuzz(func(t *testing.T, next uint8, rest []byte) {
		b := make([]byte, wire.IPv6Len+len(rest))
		wire.IPv6(b).Encode(&wire.IPv6Fields{PayloadLen: uint16(len(rest)), NextHeader: next, HopLimit: 64})
		copy(b[wire.IPv6Len:], rest)
		var k Key6
		e := readKey6(&k, wire.IPv6(b))
		if e != 0 && e != Err6L4Truncated && e != Err6BadExtensions {
			t.Fatalf("error code %d", e)
		}
		if e != 0 || k.Fragment || (k.Proto != ProtoTCP && k.Proto != ProtoUDP) {
			return
		}
		off := wire.IPv6Len
		if wire.IsExtension(next) {
			w, _ := wire.IPv6(b).WalkExtensions(8, 512)
			off = w.Off
		}
		if got := uint16(b[off])<<8 | uint16(b[off+1]); got != k.SrcPort {
			t.Fatalf("source port %d, header says %d", k.SrcPort, got)
		}
	})
}
