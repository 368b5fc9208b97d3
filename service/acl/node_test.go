package acl

import (
	"testing"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

func harness(t *testing.T, cfg NodeConfig) *graphtest.Harness {
	arc := graph.Arc{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName, Features: []graph.Feature{Feature}}
	h := graphtest.New(t, Node(cfg), graphtest.Options{Arcs: []graph.Arc{arc}})
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
	h := harness(t, NodeConfig{Table: &tab})
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

// TestNodeReflect: a permit+reflect rule on port 0 opens a session that
// admits the replies on port 1, whose ACL denies everything else; the
// session expires with its timeout.
func TestNodeReflect(t *testing.T) {
	out, err := Compile([]Rule{{Proto: ProtoUDP, DstPorts: PortRange{53, 53}, Action: PermitReflect}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := Compile(nil) // nothing: the default denies
	if err != nil {
		t.Fatal(err)
	}
	var tab Table
	tab.Set([]*ACL{New("out", out, Deny), New("in", in, Deny)})
	h := harness(t, NodeConfig{Table: &tab, Stateful: true, Sessions: SessionConfig{UDP: 10 * time.Second}})
	query := frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 53)
	reply := func() graphtest.Packet {
		d := frames.IPv4(frames.Spec{Src: [4]byte{10, 9, 1, 1}, Dst: [4]byte{10, 0, 0, 2}, SrcPort: 53, DstPort: 5000, Payload: 8})
		return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: 1, L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv4MinLen, Len: uint16(len(d))}}
	}
	if r := h.Run(reply()); r.Out[0].Where() != "drop ip4-acl-in: no_match_denied" {
		t.Fatalf("a reply before any query: %s", r.Out[0].Where())
	}
	r := h.Run(query, reply())
	if r.Out[0].Where() != ip4.LookupName || r.Out[1].Where() != ip4.LookupName {
		t.Fatalf("query %s, reply %s", r.Out[0].Where(), r.Out[1].Where())
	}
	if r.Counters["ip4-acl-in: session_opened"] != 1 || r.Counters["ip4-acl-in: session_hit"] != 1 {
		t.Fatalf("counters %v", r.Counters)
	}
	if ss := NodeSessions(h.Graph()); len(ss) != 1 || ss[0].Initiator.String() != "10.0.0.2:5000" {
		t.Fatalf("sessions %+v", ss)
	}
	h.Advance(int64(11 * time.Second))
	if r := h.Run(reply()); r.Out[0].Where() != "drop ip4-acl-in: no_match_denied" {
		t.Fatalf("a reply after the session expired: %s", r.Out[0].Where())
	}
}

// outHarness builds ip4-acl-out on the ip4-output arc and ip4-acl-in on
// the ip4-unicast arc in one graph, each enabled on ports 0 and 1.
func outHarness(t *testing.T, out, in NodeConfig) *graphtest.Harness {
	arcs := []graph.Arc{
		{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName, Features: []graph.Feature{Feature}},
		{Name: ip4.OutputArc, Start: ip4.RewriteName, End: "interface-output", ByTxPort: true, Features: []graph.Feature{OutFeature}},
	}
	h := graphtest.New(t, OutNode(out), graphtest.Options{Arcs: arcs, Also: []graph.Registration{Node(in)}})
	for port := uint16(0); port < 2; port++ {
		if err := h.Graph().EnableFeature(ip4.UnicastArc, NodeName, port, true); err != nil {
			t.Fatal(err)
		}
		if err := h.Graph().EnableFeature(ip4.OutputArc, OutNodeName, port, true); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// sent is frame as ip4-rewrite leaves it: received on port 0, leaving on tx.
func sent(tx uint16, dst [4]byte, proto uint8, dport uint16) graphtest.Packet {
	p := frame(0, dst, proto, dport)
	p.Meta.TxPort = tx
	return p
}

// TestOutNodeByTransmitPort: ip4-acl-out applies the ACL of the interface
// a packet leaves by (not the one it came in on), counts hits per rule,
// and names its drops.
func TestOutNodeByTransmitPort(t *testing.T) {
	c, err := Compile([]Rule{
		{Proto: ProtoUDP, DstPorts: PortRange{9999, 9999}, Action: Deny},
		{Proto: ProtoUDP, Action: Permit},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := New("b-out", c, Deny)
	var out, in Table
	out.Set([]*ACL{nil, a}) // port 1 only
	h := outHarness(t, NodeConfig{Table: &out}, NodeConfig{Table: &in})
	r := h.Run(
		sent(1, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 9999), // rule 0
		sent(1, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 53),   // rule 1
		sent(1, [4]byte{10, 9, 1, 1}, wire.IPProtoICMP, 0),   // no rule
		sent(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 9999), // leaves by port 0: no ACL
	)
	want := []string{"drop ip4-acl-out: denied", "interface-output", "drop ip4-acl-out: no_match_denied", "interface-output"}
	for i, w := range want {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("packet %d: %s, want %s", i, got, w)
		}
	}
	if hits, miss := a.Hits(); hits[0] != 1 || hits[1] != 1 || miss != 1 {
		t.Errorf("hits %v, no match %d; want [1 1], 1", hits, miss)
	}
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = sent(uint16(k&1), [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, uint16(53+k%3))
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(OutNodeName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestOutNodeReflectAdmitsReturn: an outbound permit+reflect rule opens a
// session in the table ip4-acl-in shares, so the reply received on the
// same interface passes its default-deny inbound ACL; the reverse flow
// (started from outside) is still dropped.
func TestOutNodeReflectAdmitsReturn(t *testing.T) {
	o, err := Compile([]Rule{{Proto: ProtoUDP, DstPorts: PortRange{53, 53}, Action: PermitReflect}})
	if err != nil {
		t.Fatal(err)
	}
	i, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out, in Table
	out.Set([]*ACL{nil, New("b-out", o, Deny)})
	in.Set([]*ACL{nil, New("b-in", i, Deny)})
	sc := SessionConfig{UDP: 10 * time.Second}
	h := outHarness(t, NodeConfig{Table: &out, Stateful: true, Sessions: sc}, NodeConfig{Table: &in, Stateful: true, Sessions: sc})
	reply := func() graphtest.Packet {
		d := frames.IPv4(frames.Spec{Src: [4]byte{10, 9, 1, 1}, Dst: [4]byte{10, 0, 0, 2}, SrcPort: 53, DstPort: 5000, Payload: 8})
		return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: 1, L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv4MinLen, Len: uint16(len(d))}}
	}
	if r := h.RunNode(NodeName, reply()); r.Out[0].Where() != "drop ip4-acl-in: no_match_denied" {
		t.Fatalf("a reply before any query: %s", r.Out[0].Where())
	}
	if r := h.Run(sent(1, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 53)); r.Out[0].Where() != "interface-output" ||
		r.Counters["ip4-acl-out: session_opened"] != 1 {
		t.Fatalf("query: %s, counters %v", r.Out[0].Where(), r.Counters)
	}
	if r := h.RunNode(NodeName, reply()); r.Out[0].Where() != ip4.LookupName {
		t.Fatalf("the reply after the query: %s", r.Out[0].Where())
	}
	if ss := NodeSessions(h.Graph()); len(ss) != 1 {
		t.Fatalf("sessions %+v", ss)
	}
	// The node set up first owns and sweeps the shared table: the session
	// expires once.
	h.Advance(int64(11 * time.Second))
	for range 300 {
		h.Advance(int64(graph.TickInterval))
		h.RunPoll()
	}
	if ss := NodeSessions(h.Graph()); len(ss) != 0 {
		t.Fatalf("sessions after their timeout: %+v", ss)
	}
	if in, out := h.Graph().ErrorByName(NodeName, "session_expired"), h.Graph().ErrorByName(OutNodeName, "session_expired"); in+out != 1 {
		t.Fatalf("session_expired: ip4-acl-in %d, ip4-acl-out %d; want 1 in all", in, out)
	}
	if r := h.RunNode(NodeName, reply()); r.Out[0].Where() != "drop ip4-acl-in: no_match_denied" {
		t.Fatalf("a reply after the session expired: %s", r.Out[0].Where())
	}
}
