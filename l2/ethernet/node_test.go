package ethernet

import (
	"encoding/binary"
	"maps"
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

var (
	ourMAC   = wire.MAC{0x02, 0, 0, 0, 0, 1}
	peerMAC  = wire.MAC{0x02, 0, 0, 0, 0, 2}
	otherMAC = wire.MAC{0x02, 0, 0, 0, 0, 9}
	mcastMAC = wire.MAC{0x01, 0x00, 0x5e, 0, 0, 1}
)

// newHarness builds ethernet-input over one interface (port 0, MTU 1500)
// that accepts VLAN 10 only.
func newHarness(t *testing.T) *graphtest.Harness {
	ifs := iface.NewTable()
	if _, err := ifs.Add("eth0", ourMAC, 1500); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{AllowVLAN: func(port, vid uint16) bool { return port == 0 && vid == 10 }}
	registerL3(cfg)
	return graphtest.New(t, Node(ifs, cfg), graphtest.Options{})
}

// registerL3 registers IPv4 and ARP as the data plane does.
func registerL3(cfg *Config) {
	cfg.RegisterEtherType(uint16(wire.EtherTypeIPv4), ip4.InputName)
	cfg.RegisterEtherType(uint16(wire.EtherTypeARP), neighbor.ARPInputName)
}

func ip4Frame(dst wire.MAC, payload int) []byte {
	return frames.IPv4(frames.Spec{SrcMAC: peerMAC, DstMAC: dst, Src: [4]byte{10, 0, 0, 2}, Dst: [4]byte{10, 0, 0, 1}, Payload: payload})
}

// tagged inserts an 802.1Q tag with vid after the MAC addresses of f.
func tagged(f []byte, vid uint16) []byte {
	out := append([]byte(nil), f[:12]...)
	out = binary.BigEndian.AppendUint16(out, uint16(wire.EtherTypeVLAN))
	out = binary.BigEndian.AppendUint16(out, vid)
	return append(out, f[12:]...)
}

// innerType sets the EtherType after the VLAN tag of a tagged frame.
func innerType(f []byte, typ uint16) []byte {
	binary.BigEndian.PutUint16(f[16:], typ)
	return f
}

func withType(f []byte, typ uint16) []byte {
	binary.BigEndian.PutUint16(f[12:], typ)
	return f
}

func TestEthernetInput(t *testing.T) {
	arp := frames.ARP(wire.ARPRequest, peerMAC, [4]byte{10, 0, 0, 2}, wire.BroadcastMAC, wire.MAC{}, [4]byte{10, 0, 0, 1})
	tests := []struct {
		name    string
		data    []byte
		rxPort  uint16
		want    string // next node or "drop node: error"
		counter string // the one counter that must move, "" for none
		l3      uint16 // Meta.L3 when forwarded
		vlan    uint16
	}{
		{name: "own MAC ipv4", data: ip4Frame(ourMAC, 10), want: ip4.InputName, l3: 14},
		{name: "broadcast arp", data: arp, want: neighbor.ARPInputName, l3: 14},
		{name: "broadcast ipv4", data: ip4Frame(wire.BroadcastMAC, 10), want: ip4.InputName, l3: 14},
		{name: "own MAC arp", data: frames.ARP(wire.ARPReply, peerMAC, [4]byte{10, 0, 0, 2}, ourMAC, ourMAC, [4]byte{10, 0, 0, 1}), want: neighbor.ARPInputName, l3: 14},
		{name: "foreign unicast", data: ip4Frame(otherMAC, 10), want: "drop " + NodeName + ": not_for_us", counter: "not_for_us"},
		{name: "multicast", data: ip4Frame(mcastMAC, 10), want: "drop " + NodeName + ": multicast", counter: "multicast"},
		{name: "vlan allowed", data: tagged(ip4Frame(ourMAC, 10), 10), want: ip4.InputName, l3: 18, vlan: 10},
		{name: "vlan allowed with priority bits", data: tagged(ip4Frame(ourMAC, 10), 0xe000|10), want: ip4.InputName, l3: 18, vlan: 10},
		{name: "vlan not allowed", data: tagged(ip4Frame(ourMAC, 10), 11), want: "drop " + NodeName + ": unknown_vlan", counter: "unknown_vlan"},
		{name: "vlan tag cut short", data: tagged(ip4Frame(ourMAC, 10), 10)[:16], want: "drop " + NodeName + ": vlan_truncated", counter: "vlan_truncated"},
		{name: "too short", data: ip4Frame(ourMAC, 10)[:13], want: "drop " + NodeName + ": too_short", counter: "too_short"},
		{name: "empty", data: nil, want: "drop " + NodeName + ": too_short", counter: "too_short"},
		{name: "max length", data: ip4Frame(ourMAC, 1500-28+4), want: ip4.InputName, l3: 14},
		{name: "too long", data: ip4Frame(ourMAC, 1500-28+5), want: "drop " + NodeName + ": too_long", counter: "too_long"},
		{name: "ipv6", data: withType(ip4Frame(ourMAC, 10), uint16(wire.EtherTypeIPv6)), want: "drop " + NodeName + ": unknown_ethertype", counter: "unknown_ethertype"},
		{name: "ipv4 to an ipv6 multicast MAC", data: ip4Frame(wire.MAC{0x33, 0x33, 0xff, 0, 0, 1}, 10), want: "drop " + NodeName + ": multicast", counter: "multicast"},
		{name: "unknown ethertype in vlan", data: innerType(tagged(ip4Frame(ourMAC, 10), 10), 0x1234), want: "drop " + NodeName + ": unknown_ethertype", counter: "unknown_ethertype"},
		{name: "no interface", data: ip4Frame(ourMAC, 10), rxPort: 5, want: "drop " + NodeName + ": no_interface", counter: "no_interface"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			r := h.Run(graphtest.Packet{Data: tc.data, Meta: pkt.Meta{RxPort: tc.rxPort, VLAN: 99, Flags: pkt.FlagL2Broadcast}})
			o := &r.Out[0]
			if got := o.Where(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			want := map[string]uint64{}
			if tc.counter != "" {
				want[graphtest.Label(NodeName, tc.counter)] = 1
			}
			if !maps.Equal(r.Counters, want) {
				t.Errorf("counters %v, want %v", r.Counters, want)
			}
			if o.Next == "" {
				return
			}
			if bc := o.Meta.Flags&pkt.FlagL2Broadcast != 0; bc != (string(tc.data[:6]) == string(wire.BroadcastMAC[:]) || tc.data[0] == 0x33) {
				t.Errorf("FlagL2Broadcast %v for destination % x", bc, tc.data[:6])
			}
			if o.Meta.L3 != tc.l3 || o.Meta.VLAN != tc.vlan {
				t.Errorf("L3 %d VLAN %d, want %d %d", o.Meta.L3, o.Meta.VLAN, tc.l3, tc.vlan)
			}
			if string(o.Data) != string(tc.data) {
				t.Errorf("bytes changed:\n got % x\nwant % x", o.Data, tc.data)
			}
		})
	}
}

// TestEthernetMixedVector checks one vector with every verdict: each
// packet goes its own way and the counters add up.
func TestEthernetMixedVector(t *testing.T) {
	h := newHarness(t)
	var pkts []graphtest.Packet
	wants := []string{ip4.InputName, "drop " + NodeName + ": not_for_us", neighbor.ARPInputName, "drop " + NodeName + ": no_interface", ip4.InputName}
	datas := [][]byte{ip4Frame(ourMAC, 1), ip4Frame(otherMAC, 1),
		frames.ARP(wire.ARPRequest, peerMAC, [4]byte{10, 0, 0, 2}, wire.BroadcastMAC, wire.MAC{}, [4]byte{10, 0, 0, 1}),
		ip4Frame(ourMAC, 1), ip4Frame(ourMAC, 2)}
	for k, d := range datas {
		p := graphtest.Packet{Data: d}
		if k == 3 {
			p.Meta.RxPort = 1
		}
		pkts = append(pkts, p)
	}
	r := h.Run(pkts...)
	for k, w := range wants {
		if got := r.Out[k].Where(); got != w {
			t.Errorf("packet %d: got %q, want %q", k, got, w)
		}
	}
	want := map[string]uint64{NodeName + ": not_for_us": 1, NodeName + ": no_interface": 1}
	if !maps.Equal(r.Counters, want) {
		t.Errorf("counters %v, want %v", r.Counters, want)
	}
}

func TestEthernetTrace(t *testing.T) {
	ifs := iface.NewTable()
	if _, err := ifs.Add("eth0", ourMAC, 1500); err != nil {
		t.Fatal(err)
	}
	var cfg Config // no VLAN allowed
	registerL3(&cfg)
	h := graphtest.New(t, Node(ifs, &cfg), graphtest.Options{Trace: true})
	r := h.Run(graphtest.Packet{Data: ip4Frame(ourMAC, 1)}, graphtest.Packet{Data: tagged(ip4Frame(ourMAC, 1), 10)})
	if got := r.Out[1].Where(); got != "drop "+NodeName+": unknown_vlan" {
		t.Fatalf("Config without AllowVLAN accepted a tag: %s", got)
	}
	if len(r.Trace) != 3 {
		t.Fatalf("%d trace records, want 3: %+v", len(r.Trace), r.Trace)
	}
	if rec := r.Trace[0]; rec.Node != NodeName || rec.Next != ip4.InputName || rec.Packet != r.Out[0].ID {
		t.Errorf("record 0: %s -> %s packet %d", rec.Node, rec.Next, rec.Packet)
	}
	if rec := r.Trace[2]; rec.Node != graph.DropNodeName || rec.Error != NodeName+": unknown_vlan" {
		t.Errorf("record 2: %s %q", rec.Node, rec.Error)
	}
	fmt := Node(ifs, &cfg).Format(&r.Trace[0])
	if want := "ethernet " + peerMAC.String() + " -> " + ourMAC.String() + " type 0x0800"; fmt != want {
		t.Errorf("format %q, want %q", fmt, want)
	}
}

func TestEthernetAllocs(t *testing.T) {
	h := newHarness(t)
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k].Data = ip4Frame(ourMAC, 64)
	}
	pkts[3].Data = ip4Frame(otherMAC, 64)
	if n := testing.AllocsPerRun(100, func() { h.Send(NodeName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestEthernetInterfaceDown: frames received on an interface set
// administratively down are dropped as interface_down, and pass again once
// it is up.
func TestEthernetInterfaceDown(t *testing.T) {
	ifs := iface.NewTable()
	if _, err := ifs.Add("eth0", ourMAC, 1500); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{}
	registerL3(cfg)
	h := graphtest.New(t, Node(ifs, cfg), graphtest.Options{})
	if err := ifs.SetDown(0, true); err != nil {
		t.Fatal(err)
	}
	r := h.Run(graphtest.Packet{Data: ip4Frame(ourMAC, 10)}, graphtest.Packet{Data: ip4Frame(ourMAC, 20)})
	for k := range r.Out {
		if got := r.Out[k].Where(); got != "drop ethernet-input: interface_down" {
			t.Errorf("packet %d while down: %q", k, got)
		}
	}
	if n := r.Counters[graphtest.Label(NodeName, "interface_down")]; n != 2 {
		t.Errorf("interface_down %d, want 2 (%v)", n, r.Counters)
	}
	if err := ifs.SetDown(0, false); err != nil {
		t.Fatal(err)
	}
	if got := h.Run(graphtest.Packet{Data: ip4Frame(ourMAC, 10)}).Out[0].Where(); got != "ip4-input" {
		t.Errorf("up again: %q", got)
	}
}

// TestEthernetDispatchTable checks registration: a registered EtherType
// (IPv6 here) reaches its node, also behind an allowed VLAN tag; a
// registered 0x8100 takes tagged frames whole; a type registered twice or
// too many types fail the build.
func TestEthernetDispatchTable(t *testing.T) {
	ifs := iface.NewTable()
	if _, err := ifs.Add("eth0", ourMAC, 1500); err != nil {
		t.Fatal(err)
	}
	const v6, vlan = "test-ip6-input", "test-vlan-input"
	cfg := &Config{AllowVLAN: func(port, vid uint16) bool { return vid == 10 }}
	registerL3(cfg)
	cfg.RegisterEtherType(uint16(wire.EtherTypeIPv6), v6)
	h := graphtest.New(t, Node(ifs, cfg), graphtest.Options{})
	six := withType(ip4Frame(ourMAC, 10), uint16(wire.EtherTypeIPv6))
	r := h.Run(graphtest.Packet{Data: six}, graphtest.Packet{Data: innerType(tagged(ip4Frame(ourMAC, 10), 10), uint16(wire.EtherTypeIPv6))})
	if r.Out[0].Where() != v6 || r.Out[1].Where() != v6 || r.Out[1].Meta.L3 != 18 {
		t.Errorf("ipv6: %q, tagged %q (L3 %d)", r.Out[0].Where(), r.Out[1].Where(), r.Out[1].Meta.L3)
	}

	cfg2 := &Config{}
	registerL3(cfg2)
	cfg2.RegisterEtherType(uint16(wire.EtherTypeVLAN), vlan)
	h2 := graphtest.New(t, Node(ifs, cfg2), graphtest.Options{})
	r = h2.Run(graphtest.Packet{Data: tagged(ip4Frame(ourMAC, 10), 10)})
	if got := r.Out[0].Where(); got != vlan || r.Out[0].Meta.L3 != 14 {
		t.Errorf("registered 0x8100: %q L3 %d, want %s L3 14", got, r.Out[0].Meta.L3, vlan)
	}

	dup := &Config{}
	registerL3(dup)
	dup.RegisterEtherType(uint16(wire.EtherTypeIPv4), v6)
	many := &Config{}
	for k := range MaxEtherTypes + 1 {
		many.RegisterEtherType(uint16(0x9000+k), v6)
	}
	for name, c := range map[string]*Config{"duplicate": dup, "too many": many} {
		if _, err := graph.Build(pkt.NewPool(mustArena(t)).NewCache(), []graph.Registration{Node(ifs, c), sink(ip4.InputName), sink(neighbor.ARPInputName), sink(v6)}); err == nil {
			t.Errorf("%s: graph built", name)
		}
	}
}

func mustArena(t *testing.T) *pkt.Arena {
	a, err := pkt.NewArena(64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func sink(name string) graph.Registration {
	return graph.Registration{Name: name, Func: func(n *graph.Node, v *pkt.Vector) int {
		cnt := v.Len
		n.Cache().FreeN(v.Idx[:cnt])
		v.Reset()
		return cnt
	}}
}

// TestBridgedInterface: frames received on an interface in L2 mode go
// whole to the L2 node, whatever their destination MAC or EtherType; the
// other interfaces keep the L3 dispatch.
func TestBridgedInterface(t *testing.T) {
	ifs := iface.NewTable()
	for _, name := range []string{"eth0", "eth1"} {
		if _, err := ifs.Add(name, ourMAC, 1500); err != nil {
			t.Fatal(err)
		}
	}
	bridged := []bool{false, true}
	cfg := &Config{Bridged: func() []bool { return bridged }, L2Node: "l2-learn"}
	registerL3(cfg)
	h := graphtest.New(t, Node(ifs, cfg), graphtest.Options{})
	for _, tc := range []struct {
		data []byte
		rx   uint16
		want string
	}{
		{ip4Frame(otherMAC, 10), 1, "l2-learn"},
		{ip4Frame(mcastMAC, 10), 1, "l2-learn"},
		{withType(ip4Frame(ourMAC, 10), 0x1234), 1, "l2-learn"},
		{ip4Frame(ourMAC, 1500-28+5), 1, "drop " + NodeName + ": too_long"},
		{ip4Frame(otherMAC, 10), 0, "drop " + NodeName + ": not_for_us"},
		{ip4Frame(ourMAC, 10), 0, ip4.InputName},
	} {
		r := h.Run(graphtest.Packet{Data: tc.data, Meta: pkt.Meta{RxPort: tc.rx}})
		if got := r.Out[0].Where(); got != tc.want {
			t.Errorf("rx %d: got %q, want %q", tc.rx, got, tc.want)
		}
	}
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = graphtest.Packet{Data: ip4Frame(otherMAC, 64), Meta: pkt.Meta{RxPort: uint16(k & 1)}}
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(NodeName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector with bridged interfaces", n)
	}
}

// TestEthernetInputIPv4LinkLocalMulticast: with IPv4LinkLocalMulticast
// (linux-cp), IPv4 to the MACs of 224.0.0.0/24 goes to ip4-input; other
// groups, and other EtherTypes to those MACs, are still dropped, as is
// everything multicast without it.
func TestEthernetInputIPv4LinkLocalMulticast(t *testing.T) {
	ospfMAC := wire.MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0x05}
	tests := []struct {
		name string
		on   bool
		data []byte
		want string
	}{
		{"ospf group", true, ip4Frame(ospfMAC, 10), ip4.InputName},
		{"last link-local group", true, ip4Frame(wire.MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0xff}, 10), ip4.InputName},
		{"routable group", true, ip4Frame(wire.MAC{0x01, 0x00, 0x5e, 0x00, 0x01, 0x05}, 10), "drop " + NodeName + ": multicast"},
		{"arp to the ospf group", true, withType(ip4Frame(ospfMAC, 10), uint16(wire.EtherTypeARP)), "drop " + NodeName + ": multicast"},
		{"ospf group, off", false, ip4Frame(ospfMAC, 10), "drop " + NodeName + ": multicast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ifs := iface.NewTable()
			if _, err := ifs.Add("eth0", ourMAC, 1500); err != nil {
				t.Fatal(err)
			}
			cfg := &Config{IPv4LinkLocalMulticast: tc.on}
			registerL3(cfg)
			h := graphtest.New(t, Node(ifs, cfg), graphtest.Options{})
			r := h.Run(graphtest.Packet{Data: tc.data})
			if got := r.Out[0].Where(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.want == ip4.InputName && r.Out[0].Meta.L3 != 14 {
				t.Errorf("L3 %d", r.Out[0].Meta.L3)
			}
		})
	}
}
