package policer

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
	for port := uint16(0); port < 3; port++ {
		if err := h.Graph().EnableFeature(ip4.UnicastArc, NodeName, port, true); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// packet is a 1000-byte IPv4 packet (frame 1014) received on port.
func packet(port uint16) graphtest.Packet {
	d := frames.IPv4(frames.Spec{Src: [4]byte{10, 0, 0, 2}, Dst: [4]byte{10, 1, 0, 2}, Payload: 1000 - 28})
	d[wire.EthernetLen+1] = 0x2e<<2 | 1 // DSCP AF31 with ECN ECT(1)
	d = frames.FixIPv4Checksum(d)
	return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: port, L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv4MinLen}}
}

func TestNodeActions(t *testing.T) {
	meter, err := NewMeter(Config{Mode: TwoRate, CIR: 1000, CBS: 2000, PIR: 2000, PBS: 3000}, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &Policer{Name: "p0", Meter: meter, Actions: [NumColors]Action{
		Green: {Kind: Transmit}, Yellow: {Kind: MarkDSCP, DSCP: 10}, Red: {Kind: Drop}}}
	var tab Table
	tab.Set([]*Policer{1: p}) // port 1 policed, ports 0 and 2 not
	h := harness(t, &tab)
	r := h.Run(packet(1), packet(1), packet(1), packet(1), packet(0), packet(2))
	want := []string{ip4.LookupName, ip4.LookupName, ip4.LookupName, "drop ip4-policer: red_drop", ip4.LookupName, ip4.LookupName}
	for i, w := range want {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("packet %d: %s, want %s", i, got, w)
		}
	}
	// The third (yellow) packet leaves re-marked with a valid header
	// checksum; the green ones leave untouched.
	for i, dscp := range []uint8{0x2e, 0x2e, 10} {
		ip := wire.IPv4(r.Out[i].Data[wire.EthernetLen:])
		if ip.TOS() != dscp<<2|1 || !ip.ChecksumValid() {
			t.Errorf("packet %d: TOS %#x checksum valid %v, want DSCP %d ECN 1", i, ip.TOS(), ip.ChecksumValid(), dscp)
		}
	}
	if r.Counters["ip4-policer: not_policed"] != 2 || r.Counters["ip4-policer: red_drop"] != 1 {
		t.Errorf("counters %v", r.Counters)
	}
	pk, by := p.Counts()
	if pk != [NumColors]uint64{2, 1, 1} || by != [NumColors]uint64{2000, 1000, 1000} {
		t.Errorf("counts: packets %v bytes %v", pk, by)
	}
	// A second later the peak bucket has 2000 bytes, the committed 1000.
	h.Advance(1e9)
	r = h.Run(packet(1), packet(1), packet(1))
	for i, w := range []string{ip4.LookupName, ip4.LookupName, "drop ip4-policer: red_drop"} {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("after 1 s, packet %d: %s, want %s", i, got, w)
		}
	}
}
