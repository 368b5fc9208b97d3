package acl

import (
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

func harness(t *testing.T, tab *Table) *graphtest.Harness {
	arc := graph.Arc{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName, Features: []graph.Feature{Feature}}
	h := graphtest.New(t, Node(tab), graphtest.Options{Arcs: []graph.Arc{arc}})
	for port := uint16(0); port < 2; port++ {
		if err := h.Graph().EnableFeature(ip4.UnicastArc, NodeName, port, true); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// frame is an IPv4 packet to dst (UDP to dport, or ICMP echo when dport
// is 0) received on port, with Meta as ip4-input leaves it.
func frame(port uint16, dst [4]byte, proto uint8, dport uint16) graphtest.Packet {
	d := frames.IPv4(frames.Spec{Src: [4]byte{10, 0, 0, 2}, Dst: dst, Proto: proto, SrcPort: 5000, DstPort: dport, Payload: 8})
	return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: port, L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv4MinLen,
		Len: uint16(len(d))}}
}

func TestNodePermitDenyAndCounts(t *testing.T) {
	c, err := Compile([]Rule{
		{Proto: ProtoUDP, DstPorts: PortRange{53, 53}, Action: Permit},
		{Dst: pfx("10.9.0.0/16"), Action: Deny},
		{Proto: ProtoICMP, Action: Permit},
	})
	if err != nil {
		t.Fatal(err)
	}
	acl := New("in", c, Deny)
	var tab Table
	tab.Set([]*ACL{acl}) // port 0 only
	h := harness(t, &tab)
	short := frame(0, [4]byte{10, 1, 0, 1}, wire.IPProtoUDP, 53)
	short.Data = short.Data[:wire.EthernetLen+wire.IPv4MinLen+2] // UDP header cut: ports unreadable
	short.Meta.Len = uint16(len(short.Data))
	ip := wire.IPv4(short.Data[wire.EthernetLen:])
	ip.SetTotalLen(wire.IPv4MinLen + 2)
	r := h.Run(
		frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 53), // rule 0 before the deny
		frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 54), // rule 1
		frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoICMP, 0), // rule 1 (before icmp)
		frame(0, [4]byte{10, 8, 1, 1}, wire.IPProtoICMP, 0), // rule 2
		frame(0, [4]byte{10, 8, 1, 1}, wire.IPProtoUDP, 99), // no rule: default deny
		short,
		frame(1, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 54), // port without an ACL
	)
	want := []string{ip4.LookupName, "drop ip4-acl-in: denied", "drop ip4-acl-in: denied", ip4.LookupName,
		"drop ip4-acl-in: no_match_denied", "drop ip4-acl-in: l4_truncated", ip4.LookupName}
	for i, w := range want {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("packet %d: %s, want %s", i, got, w)
		}
	}
	hits, miss := acl.Hits()
	if hits[0] != 1 || hits[1] != 2 || hits[2] != 1 || miss != 1 {
		t.Errorf("hits %v, no match %d; want [1 2 1], 1", hits, miss)
	}
	if r.Counters["ip4-acl-in: no_acl"] != 1 {
		t.Errorf("counters %v", r.Counters)
	}
}
