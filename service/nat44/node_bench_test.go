package nat44_test

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/service/nat44"
	"github.com/vecnet/vecnet/wire"
)

// benchNAT builds nat44-in2out (with out2in beside) over a FIB where
// 10.77.1.0/24 is inside on port 0 and 10.77.2.0/24 outside on port 1,
// translating to 10.77.2.1 — the rig of "vecnet bench services".
func benchNAT(tb testing.TB) *graphtest.Harness {
	tab := fib.New()
	tab.AddInterface(0, [6]byte{2, 0, 0, 0, 0, 1}, 1500)
	tab.AddInterface(1, [6]byte{2, 0, 0, 0, 0, 2}, 1500)
	for port, p := range []string{"10.77.1.1/24", "10.77.2.1/24"} {
		if err := tab.AddConnected(uint16(port), netip.MustParsePrefix(p)); err != nil {
			tb.Fatal(err)
		}
	}
	cfg := nat44.Config{Inside: []uint16{0}, Outside: 1, Addr: netip.MustParseAddr("10.77.2.1")}
	regs := nat44.Nodes(cfg, tab, func(*graph.Graph) int { return 0 })
	arc := graph.Arc{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName,
		Features: []graph.Feature{nat44.In2OutFeature, nat44.Out2InFeature}}
	h := graphtest.New(tb, regs[0], graphtest.Options{Also: regs[1:], Arcs: []graph.Arc{arc}})
	if err := h.Graph().EnableFeature(ip4.UnicastArc, nat44.In2OutName, 0, true); err != nil {
		tb.Fatal(err)
	}
	return h
}

// benchFlows is a vector of UDP packets of 256 flows (source ports) from
// the inside to the outside, as ip4-input leaves them.
func benchFlows() []graphtest.Packet {
	pkts := make([]graphtest.Packet, pkt.VectorSize)
	for k := range pkts {
		d := frames.IPv4(frames.Spec{Src: [4]byte{10, 77, 1, 2}, Dst: [4]byte{10, 77, 2, 2}, Proto: wire.IPProtoUDP,
			SrcPort: uint16(10000 + k), DstPort: 9, Payload: 18})
		pkts[k] = graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: 0, L3: wire.EthernetLen,
			L4: wire.EthernetLen + wire.IPv4MinLen, Len: uint16(len(d))}}
	}
	return pkts
}

// BenchmarkNodeNAT44In2Out runs nat44-in2out on whole vectors of 256 UDP
// flows whose mappings exist after the first vector: a lookup, the
// address and port rewrite and the incremental checksum updates per packet.
// scripts/callgrind.sh counts the node's instructions per packet
// (BENCHMARKS.md section 11).
func BenchmarkNodeNAT44In2Out(b *testing.B) {
	h := benchNAT(b)
	pkts := benchFlows()
	r := h.Run(pkts...)
	if o := r.Out[0]; o.Next != ip4.LookupName || wire.IPv4(o.Data[o.Meta.L3:]).Src() != [4]byte{10, 77, 2, 1} {
		b.Fatalf("not translated: %s", o.Where())
	}
	for b.Loop() {
		h.Send(nat44.In2OutName, pkts...)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pkts)), "ns/pkt")
}

// TestNodeNAT44In2OutAllocatesNothing: in2out on existing mappings.
func TestNodeNAT44In2OutAllocatesNothing(t *testing.T) {
	h := benchNAT(t)
	pkts := benchFlows()
	h.Run(pkts...)
	if n := testing.AllocsPerRun(50, func() { h.Send(nat44.In2OutName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}
