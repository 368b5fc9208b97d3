package ip4

import (
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

func TestIP4Local(t *testing.T) {
	icmp := func(typ uint8) graphtest.Packet {
		p := ipFrame(host0, addr0, frames.Spec{Proto: wire.IPProtoICMP, Payload: 16})
		ic := wire.ICMPv4(p.Data[34:])
		ic.SetType(typ)
		ic.SetChecksum(0)
		ic.SetChecksum(ic.ComputeChecksum())
		return p
	}
	// Stand-ins for the host stack's nodes.
	const udpNode, icmpNode, tcpNode = "test-udp-input", "test-icmp-input", "test-tcp-input"
	withStack := LocalConfig{Protocols: []ProtocolNode{{wire.IPProtoUDP, udpNode}, {wire.IPProtoICMP, icmpNode}}}
	withTCP := withStack
	withTCP.RegisterProtocol(wire.IPProtoTCP, tcpNode)
	withGRE := LocalConfig{}
	withGRE.RegisterProtocol(47, "test-gre-input")
	tests := []struct {
		name    string
		cfg     LocalConfig
		p       graphtest.Packet
		want    string
		counter string
		aux     uint32
	}{
		{name: "echo request", p: icmp(wire.ICMPv4Echo), want: LookupName, counter: "echo_replies"},
		{name: "fragment MF", p: edit(icmp(wire.ICMPv4Echo), func(ip wire.IPv4) { ip[6] |= 0x20 }), want: ReassemblyName},
		{name: "fragment offset", p: edit(ipFrame(host0, addr0, frames.Spec{}), func(ip wire.IPv4) { ip[7] = 1 }), want: ReassemblyName},
		{name: "icmp too short", p: func() graphtest.Packet {
			p := edit(icmp(wire.ICMPv4Echo), func(ip wire.IPv4) { ip.SetTotalLen(20 + 7) })
			p.Data = p.Data[:14+27]
			return p
		}(), want: "drop", counter: "icmp_too_short"},
		{name: "icmp bad checksum", p: func() graphtest.Packet { p := icmp(wire.ICMPv4Echo); p.Data[40] ^= 1; return p }(), want: "drop", counter: "icmp_bad_checksum"},
		{name: "icmp other, no stack", p: icmp(wire.ICMPv4EchoReply), want: "drop", counter: "icmp_other"},
		{name: "icmp other to stack", cfg: withStack, p: icmp(wire.ICMPv4DestUnreachable), want: icmpNode, counter: "icmp_other"},
		{name: "udp, no stack", p: ipFrame(host0, addr0, frames.Spec{}), want: ICMPErrorName, counter: "udp_port_unreachable",
			aux: packICMP(wire.ICMPv4DestUnreachable, wire.ICMPv4PortUnreachable, 0)},
		{name: "udp to stack", cfg: withStack, p: ipFrame(host0, addr0, frames.Spec{}), want: udpNode},
		{name: "tcp to stack", cfg: withTCP,
			p: ipFrame(host0, addr0, frames.Spec{Proto: wire.IPProtoTCP, Payload: 20}), want: tcpNode},
		{name: "tcp, no TCP stack", cfg: withStack, p: ipFrame(host0, addr0, frames.Spec{Proto: wire.IPProtoTCP, Payload: 20}), want: "drop", counter: "tcp_no_listener"},
		{name: "other protocol", p: ipFrame(host0, addr0, frames.Spec{Proto: 47, Payload: 8}), want: ICMPErrorName, counter: "proto_unreachable",
			aux: packICMP(wire.ICMPv4DestUnreachable, wire.ICMPv4ProtoUnreachable, 0)},
		{name: "other protocol registered", cfg: withGRE, p: ipFrame(host0, addr0, frames.Spec{Proto: 47, Payload: 8}), want: "test-gre-input"},
		{name: "udp, only gre registered", cfg: withGRE, p: ipFrame(host0, addr0, frames.Spec{}), want: ICMPErrorName, counter: "udp_port_unreachable",
			aux: packICMP(wire.ICMPv4DestUnreachable, wire.ICMPv4PortUnreachable, 0)},
		// linux-cp: what no node handles goes to the punt node instead.
		{name: "punt tcp", cfg: LocalConfig{PuntNode: "linux-cp-punt"}, p: ipFrame(host0, addr0, frames.Spec{Proto: wire.IPProtoTCP, Payload: 20}),
			want: "linux-cp-punt", counter: "punted"},
		{name: "punt ospf", cfg: LocalConfig{PuntNode: "linux-cp-punt"}, p: ipFrame(host0, addr0, frames.Spec{Proto: 89, Payload: 8}),
			want: "linux-cp-punt", counter: "punted"},
		{name: "punt udp, no stack", cfg: LocalConfig{PuntNode: "linux-cp-punt"}, p: ipFrame(host0, addr0, frames.Spec{}),
			want: "linux-cp-punt", counter: "punted"},
		{name: "punt icmp other", cfg: LocalConfig{PuntNode: "linux-cp-punt"}, p: icmp(wire.ICMPv4EchoReply), want: "linux-cp-punt", counter: "punted"},
		{name: "punt, echo still answered", cfg: LocalConfig{PuntNode: "linux-cp-punt"}, p: icmp(wire.ICMPv4Echo), want: LookupName, counter: "echo_replies"},
		{name: "punt, stack's TCP first", cfg: LocalConfig{Protocols: []ProtocolNode{{Protocol: wire.IPProtoTCP, Node: "test-tcp-input"}}, PuntNode: "linux-cp-punt"},
			p: ipFrame(host0, addr0, frames.Spec{Proto: wire.IPProtoTCP, Payload: 20}), want: "test-tcp-input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, LocalNode(tc.cfg), graphtest.Options{})
			in := append([]byte(nil), tc.p.Data...)
			r := h.Run(tc.p)
			o := &r.Out[0]
			want := tc.want
			if want == "drop" {
				want = "drop " + graphtest.Label(LocalName, tc.counter)
			}
			if got := o.Where(); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			if tc.counter == "" {
				checkCounters(t, r, nil)
			} else {
				checkCounters(t, r, one(LocalName, tc.counter))
			}
			if o.Next == "" || packed(&o.Meta) != tc.aux {
				if o.Next != "" {
					t.Errorf("ICMP/MTU %#x, want %#x", packed(&o.Meta), tc.aux)
				}
				return
			}
			if o.Next != LookupName {
				if string(o.Data) != string(in) {
					t.Errorf("packet changed on its way to %s", o.Next)
				}
				return
			}
			// The echo reply, built in place.
			ip := ipOf(o)
			ic := wire.ICMPv4(ip.Payload())
			if ip.Src() != addr0 || ip.Dst() != host0 || ip.TTL() != DefaultTTL || !ip.ChecksumValid() {
				t.Errorf("reply ip %v -> %v ttl %d checksum ok %v", ip.Src(), ip.Dst(), ip.TTL(), ip.ChecksumValid())
			}
			if ic.Type() != wire.ICMPv4EchoReply || ic.Code() != 0 || !ic.ChecksumValid() || ic.ID() != 0x1234 || ic.Seq() != 7 {
				t.Errorf("reply icmp type %d code %d id %#x seq %d checksum ok %v", ic.Type(), ic.Code(), ic.ID(), ic.Seq(), ic.ChecksumValid())
			}
			if string(ic.Payload()) != string(in[34+8:]) || o.Meta.Flags&pkt.FlagLocal == 0 {
				t.Errorf("payload changed or FlagLocal not set")
			}
		})
	}
}

func TestIP4LocalAllocs(t *testing.T) {
	h := graphtest.New(t, LocalNode(LocalConfig{}), graphtest.Options{})
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = ipFrame(host0, addr0, frames.Spec{Proto: wire.IPProtoICMP, Payload: 56})
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(LocalName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestIP4LocalEchoRateLimit checks that echo replies have a budget: a
// flood of requests gets Burst replies, the rest counted, and the budget
// refills with the clock.
func TestIP4LocalEchoRateLimit(t *testing.T) {
	h := graphtest.New(t, LocalNode(LocalConfig{Echo: RateLimit{Rate: 10, Burst: 4}}), graphtest.Options{})
	flood := func(k int) *graphtest.Result {
		pkts := make([]graphtest.Packet, k)
		for j := range pkts {
			pkts[j] = ipFrame(host0, addr0, frames.Spec{Proto: wire.IPProtoICMP, Payload: 56})
		}
		return h.Run(pkts...)
	}
	r := flood(30)
	checkCounters(t, r, map[string]uint64{
		graphtest.Label(LocalName, "echo_replies"):      4,
		graphtest.Label(LocalName, "echo_rate_limited"): 26,
	})
	if got := r.Out[29].Where(); got != "drop "+graphtest.Label(LocalName, "echo_rate_limited") {
		t.Errorf("last request: %s", got)
	}
	h.Advance(200e6) // two tokens
	checkCounters(t, flood(3), map[string]uint64{
		graphtest.Label(LocalName, "echo_replies"):      2,
		graphtest.Label(LocalName, "echo_rate_limited"): 1,
	})
}

// TestIP4LocalDuplicateProtocol checks that a protocol registered twice
// fails the graph build instead of shadowing the first owner.
func TestIP4LocalDuplicateProtocol(t *testing.T) {
	var cfg LocalConfig
	cfg.RegisterProtocol(wire.IPProtoUDP, "test-udp-a")
	cfg.RegisterProtocol(wire.IPProtoUDP, "test-udp-b")
	a, err := pkt.NewArena(64)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	regs := []graph.Registration{LocalNode(cfg)}
	for _, name := range []string{LookupName, ICMPErrorName, ReassemblyName, "test-udp-a", "test-udp-b"} {
		regs = append(regs, graph.Registration{Name: name, Func: func(n *graph.Node, v *pkt.Vector) int { return 0 }})
	}
	if _, err := graph.Build(pkt.NewPool(a).NewCache(), regs); err == nil {
		t.Fatal("graph built with UDP registered twice")
	}
}
