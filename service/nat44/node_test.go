package nat44

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

var (
	inside   = [4]byte{10, 0, 0, 2}
	outsider = [4]byte{198, 51, 100, 7}
)

// natHarness builds in2out (under test) with out2in beside it, over a FIB
// where 10.0.0.0/24 is on port 0 (inside) and everything else leaves by
// port 1 (outside, 203.0.113.0/24).
func natHarness(t *testing.T) *graphtest.Harness { return natHarnessWith(t, testConfig()) }

// natHarnessWith is natHarness for the NAT configuration cfg.
func natHarnessWith(t testing.TB, cfg Config) *graphtest.Harness {
	tab := fib.New()
	tab.AddInterface(0, [6]byte{2, 0, 0, 0, 0, 1}, 1500)
	tab.AddInterface(1, [6]byte{2, 0, 0, 0, 0, 2}, 1500)
	for port, p := range []string{"10.0.0.1/24", "203.0.113.1/24"} {
		if err := tab.AddConnected(uint16(port), netip.MustParsePrefix(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tab.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), []fib.NextHop{{Addr: netip.MustParseAddr("203.0.113.254"), Port: 1}}); err != nil {
		t.Fatal(err)
	}
	regs := Nodes(cfg, tab, func(*graph.Graph) int { return 0 })
	arc := graph.Arc{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName, Features: []graph.Feature{In2OutFeature, Out2InFeature}}
	h := graphtest.New(t, regs[0], graphtest.Options{Also: regs[1:], Arcs: []graph.Arc{arc}})
	if err := h.Graph().EnableFeature(ip4.UnicastArc, In2OutName, 0, true); err != nil {
		t.Fatal(err)
	}
	if err := h.Graph().EnableFeature(ip4.UnicastArc, Out2InName, 1, true); err != nil {
		t.Fatal(err)
	}
	return h
}

func natFrame(port uint16, src, dst [4]byte, proto uint8, sport, dport uint16) graphtest.Packet {
	d := frames.IPv4(frames.Spec{Src: src, Dst: dst, Proto: proto, SrcPort: sport, DstPort: dport, Payload: 20})
	if proto == wire.IPProtoTCP { // frames writes no TCP header: a SYN here
		tcp := d[wire.EthernetLen+wire.IPv4MinLen:]
		clear(tcp)
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		tcp[12], tcp[13] = 5<<4, 0x02
		binary.BigEndian.PutUint16(tcp[14:], 1000)
		binary.BigEndian.PutUint16(tcp[16:], wire.Checksum(tcp, wire.PseudoHeaderSum(src, dst, proto, uint16(len(tcp)))))
	}
	return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: port, L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv4MinLen, Len: uint16(len(d))}}
}

func ipOf(o *graphtest.Outcome) wire.IPv4 { return wire.IPv4(o.Data[o.Meta.L3:]) }

func TestIn2OutAndBack(t *testing.T) {
	h := natHarness(t)
	r := h.Run(
		natFrame(0, inside, outsider, wire.IPProtoUDP, 5353, 53),
		natFrame(0, inside, [4]byte{198, 51, 100, 8}, wire.IPProtoUDP, 5353, 53), // same endpoint: same port (EIM)
		natFrame(0, inside, outsider, wire.IPProtoICMP, 0, 0),                    // echo request
		natFrame(0, inside, [4]byte{10, 0, 0, 9}, wire.IPProtoUDP, 5353, 53),     // inside to inside: untouched
		natFrame(0, inside, [4]byte{10, 0, 0, 1}, wire.IPProtoUDP, 5353, 53),     // to the router: untouched
	)
	var ext [2]uint16
	for i, o := range r.Out[:3] {
		ip := ipOf(&o)
		if o.Next != ip4.LookupName || ip.Src() != poolAddr.As4() || !checksumsValid(ip) {
			t.Fatalf("packet %d: %s src %v checksums %v", i, o.Where(), ip.Src(), checksumsValid(ip))
		}
		if i < 2 {
			ext[i] = binary.BigEndian.Uint16(ip[20:])
		}
	}
	if ext[0] != ext[1] || ext[0] < 2000 || ext[0] > 2099 {
		t.Fatalf("external ports %v: want one port of 2000-2099 for one endpoint", ext)
	}
	for i, o := range r.Out[3:] {
		if ip := ipOf(&o); ip.Src() != inside {
			t.Fatalf("untouched packet %d translated: src %v", i, ip.Src())
		}
	}
	// Replies to the poolAddr address go back to the inside endpoint.
	r = h.RunNode(Out2InName,
		natFrame(1, outsider, poolAddr.As4(), wire.IPProtoUDP, 53, ext[0]),
		natFrame(1, outsider, poolAddr.As4(), wire.IPProtoUDP, 53, 2099),   // no mapping: to the host stack, untranslated
		natFrame(1, outsider, poolAddr.As4(), wire.IPProtoTCP, 4000, 8080), // the static mapping
	)
	ip := ipOf(&r.Out[0])
	if ip.Dst() != inside || binary.BigEndian.Uint16(ip[22:]) != 5353 || !checksumsValid(ip) {
		t.Fatalf("reply: dst %v:%d checksums %v", ip.Dst(), binary.BigEndian.Uint16(ip[22:]), checksumsValid(ip))
	}
	if ip := ipOf(&r.Out[1]); ip.Dst() != poolAddr.As4() || r.Counters["nat44-out2in: no_mapping"] != 1 {
		t.Fatalf("unmapped: dst %v counters %v", ip.Dst(), r.Counters)
	}
	ip = ipOf(&r.Out[2])
	if ip.Dst() != [4]byte{10, 0, 0, 5} || binary.BigEndian.Uint16(ip[22:]) != 80 || !checksumsValid(ip) {
		t.Fatalf("static: dst %v:%d", ip.Dst(), binary.BigEndian.Uint16(ip[22:]))
	}
	if ss := NodeSessions(h.Graph()); len(ss) != 3 { // udp, icmp, static
		t.Fatalf("sessions %+v", ss)
	}
}

func TestIn2OutDropsFragmentsAndTruncated(t *testing.T) {
	h := natHarness(t)
	frag := natFrame(0, inside, outsider, wire.IPProtoUDP, 1, 2)
	ip := wire.IPv4(frag.Data[wire.EthernetLen:])
	ip[6] = 0x20 // MF
	ip.SetChecksum(0)
	ip.SetChecksum(wire.Checksum(ip[:20], 0))
	short := natFrame(0, inside, outsider, wire.IPProtoTCP, 1, 2)
	short.Data = short.Data[:wire.EthernetLen+20+10]
	short.Meta.Len = uint16(len(short.Data))
	r := h.Run(frag, short, natFrame(0, inside, outsider, 47, 0, 0))
	want := []string{"drop nat44-in2out: fragment", "drop nat44-in2out: truncated", ip4.LookupName}
	for i, w := range want {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("packet %d: %s, want %s", i, got, w)
		}
	}
}
