package acl

import (
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/service/policer"
	"github.com/vecnet/vecnet/wire"
)

// TestNodeClassPolicer: the packets a rule with a class policer permits
// are metered by it (one burst of 3 packets green, the rest red and
// dropped under their own counter, yellow marked); other rules' packets
// and denied ones never reach the meter.
func TestNodeClassPolicer(t *testing.T) {
	c, err := Compile([]Rule{
		{Proto: ProtoUDP, DstPorts: PortRange{53, 53}, Action: Permit, Police: "dns"},
		{Proto: ProtoUDP, DstPorts: PortRange{54, 54}, Action: Deny},
		{Proto: ProtoUDP, Action: Permit},
	})
	if err != nil {
		t.Fatal(err)
	}
	size := uint32(len(frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 53).Data) - wire.EthernetLen)
	m, err := policer.NewMeter(policer.Config{Mode: policer.SingleRate, CIR: 1000, CBS: uint64(3 * size), EBS: uint64(2 * size)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &policer.Policer{Name: "dns", Meter: m, Actions: [policer.NumColors]policer.Action{
		policer.Yellow: {Kind: policer.MarkDSCP, DSCP: 10}, policer.Red: {Kind: policer.Drop}}}
	a := New("in", c, Deny)
	a.SetPolicer(0, p)
	var tab Table
	tab.Set([]*ACL{a})
	h := harness(t, NodeConfig{Table: &tab})
	var in []graphtest.Packet
	for k := range 10 {
		in = append(in, frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 53))
		if k%3 == 0 {
			in = append(in, frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 54), frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, 99))
		}
	}
	r := h.Run(in...)
	var green, yellow, red, other int
	for i, o := range r.Out {
		d := in[i].Data
		port := uint16(d[wire.EthernetLen+22])<<8 | uint16(d[wire.EthernetLen+23])
		switch {
		case port != 53:
			other++
		case o.Where() == "drop ip4-acl-in: police_red_drop":
			red++
		case o.Next == ip4.LookupName && o.Data[wire.EthernetLen+1]>>2 == 10:
			yellow++
			if !wire.IPv4(o.Data[wire.EthernetLen:]).ChecksumValid() {
				t.Errorf("packet %d marked with a bad checksum", i)
			}
		case o.Next == ip4.LookupName:
			green++
		default:
			t.Errorf("packet %d to port 53: %s", i, o.Where())
		}
	}
	if green != 3 || yellow != 2 || red != 5 || other != 8 {
		t.Fatalf("green %d yellow %d red %d (want 3 2 5), other %d", green, yellow, red, other)
	}
	pk, _ := p.Counts()
	if pk != [policer.NumColors]uint64{3, 2, 5} {
		t.Fatalf("policer counts %v, want [3 2 5]", pk)
	}
	if r.Counters["ip4-acl-in: police_red_drop"] != 5 || r.Counters["ip4-acl-in: denied"] != 4 {
		t.Fatalf("counters %v", r.Counters)
	}
	if hits, _ := a.Hits(); hits[0] != 10 || hits[1] != 4 || hits[2] != 4 {
		t.Fatalf("hits %v", hits)
	}
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = frame(0, [4]byte{10, 9, 1, 1}, wire.IPProtoUDP, uint16(53+k%3*23))
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(NodeName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}
