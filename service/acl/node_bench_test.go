package acl_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/service/acl"
	"github.com/vecnet/vecnet/wire"
)

// benchNodeRules returns n rules of four shapes that the benchmark's
// traffic (UDP 10.77.1.2 → 10.77.2.2 port 9) never matches, then the
// permit+reflect rule it does match, last (the shape of "vecnet bench
// services").
func benchNodeRules(n int) []acl.Rule {
	p := func(a, b, c, d byte, bits int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, d}), bits)
	}
	var rules []acl.Rule
	for i := range n - 1 {
		a, b := byte(i>>8), byte(i)
		port := uint16(1000 + i)
		r := acl.Rule{Action: acl.Deny}
		switch i % 4 {
		case 0:
			r.Proto, r.Src, r.Dst, r.DstPorts = acl.ProtoUDP, p(10, 100, a, b, 32), p(10, 77, 2, 0, 24), acl.PortRange{Lo: port, Hi: port}
		case 1:
			r.Proto, r.Src, r.DstPorts = acl.ProtoTCP, p(10, 101, b, 0, 24), acl.PortRange{Lo: port, Hi: port}
		case 2:
			r.Proto, r.Dst = acl.ProtoUDP, p(10, 102, a, b, 32)
		default:
			r.Src = p(10, 103, a, b, 32)
		}
		rules = append(rules, r)
	}
	return append(rules, acl.Rule{Action: acl.PermitReflect, Proto: acl.ProtoUDP,
		Src: p(10, 77, 1, 0, 24), Dst: p(10, 77, 2, 0, 24), DstPorts: acl.PortRange{Lo: 9, Hi: 9}})
}

// benchFlows is a vector of UDP packets of 256 flows (source ports), as
// ip4-input leaves them, received on port 0.
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

// BenchmarkNodeACLIn runs ip4-acl-in on whole vectors of 256 flows
// through rules rules whose last (permit+reflect) the traffic matches:
// stateless, and stateful where every packet after the first vector hits
// its session (and is still classified). scripts/callgrind.sh counts the
// node's instructions per packet (BENCHMARKS.md section 11).
func BenchmarkNodeACLIn(b *testing.B) {
	for _, stateful := range []bool{false, true} {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("stateful=%v/rules=%d", stateful, n), func(b *testing.B) {
				c, err := acl.Compile(benchNodeRules(n))
				if err != nil {
					b.Fatal(err)
				}
				var tab acl.Table
				tab.Set([]*acl.ACL{acl.New("in", c, acl.Deny)})
				arc := graph.Arc{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName, Features: []graph.Feature{acl.Feature}}
				h := graphtest.New(b, acl.Node(acl.NodeConfig{Table: &tab, Stateful: stateful}), graphtest.Options{Arcs: []graph.Arc{arc}})
				if err := h.Graph().EnableFeature(ip4.UnicastArc, acl.NodeName, 0, true); err != nil {
					b.Fatal(err)
				}
				pkts := benchFlows()
				r := h.Run(pkts...)
				if w := r.Out[len(pkts)-1].Where(); w != ip4.LookupName {
					b.Fatalf("the traffic went to %s", w)
				}
				for b.Loop() {
					h.Send(acl.NodeName, pkts...)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pkts)), "ns/pkt")
			})
		}
	}
}

// TestNodeACLInAllocatesNothing: the stateful node on warm sessions.
func TestNodeACLInAllocatesNothing(t *testing.T) {
	c, err := acl.Compile(benchNodeRules(1000))
	if err != nil {
		t.Fatal(err)
	}
	var tab acl.Table
	tab.Set([]*acl.ACL{acl.New("in", c, acl.Deny)})
	arc := graph.Arc{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName, Features: []graph.Feature{acl.Feature}}
	h := graphtest.New(t, acl.Node(acl.NodeConfig{Table: &tab, Stateful: true}), graphtest.Options{Arcs: []graph.Arc{arc}})
	if err := h.Graph().EnableFeature(ip4.UnicastArc, acl.NodeName, 0, true); err != nil {
		t.Fatal(err)
	}
	pkts := benchFlows()
	r := h.Run(pkts...)
	if r.Counters["ip4-acl-in: session_opened"] != uint64(len(pkts)) {
		t.Fatalf("counters %v", r.Counters)
	}
	if n := testing.AllocsPerRun(50, func() { h.Send(acl.NodeName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}
