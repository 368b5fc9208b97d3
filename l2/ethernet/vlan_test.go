package ethernet

import (
	"encoding/binary"
	"maps"
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Sub-interfaces of eth0 (index 0) in newSubHarness.
const (
	subDot1q   = 2 // eth0.100: 0x8100 100
	subQinQ    = 3 // eth0.200.300: 0x88a8 200, 0x8100 300
	subQinQ1q  = 4 // eth0.7.8: 0x8100 7, 0x8100 8
	subDot1q7  = 5 // eth0.7: 0x8100 7 (beside eth0.7.8)
	subDown    = 6 // eth0.9, administratively down
	subOnEth1  = 7 // eth1.100
	parentEth1 = 1
)

const ip6Input = "ip6-input"

// newSubHarness builds ethernet-input over eth0 and eth1 (MTU 1500) with
// the sub-interfaces above; no AllowVLAN.
func newSubHarness(t testing.TB) (*graphtest.Harness, *iface.Table) {
	ifs := iface.NewTable()
	for _, name := range []string{"eth0", "eth1"} {
		if _, err := ifs.Add(name, ourMAC, 1500); err != nil {
			t.Fatal(err)
		}
	}
	for k, s := range []struct {
		name string
		sub  iface.Sub
	}{
		{"eth0.100", iface.Sub{Parent: 0, VLAN: 100}},
		{"eth0.200.300", iface.Sub{Parent: 0, OuterVLAN: 200, VLAN: 300}},
		{"eth0.7.8", iface.Sub{Parent: 0, OuterVLAN: 7, OuterTPID: 0x8100, VLAN: 8}},
		{"eth0.7", iface.Sub{Parent: 0, VLAN: 7}},
		{"eth0.9", iface.Sub{Parent: 0, VLAN: 9}},
		{"eth1.100", iface.Sub{Parent: 1, VLAN: 100}},
	} {
		idx, err := ifs.AddSub(s.name, s.sub, 0)
		if err != nil || int(idx) != k+2 {
			t.Fatalf("AddSub %s: %d %v", s.name, idx, err)
		}
	}
	if err := ifs.SetDown(subDown, true); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{}
	registerL3(cfg)
	cfg.RegisterEtherType(uint16(wire.EtherTypeIPv6), ip6Input)
	return graphtest.New(t, Node(ifs, cfg), graphtest.Options{}), ifs
}

// tag inserts a tag (tpid, tci) after the MAC addresses of f (as the
// outermost tag).
func tag(f []byte, tpid, tci uint16) []byte {
	out := append([]byte(nil), f[:12]...)
	out = binary.BigEndian.AppendUint16(out, tpid)
	out = binary.BigEndian.AppendUint16(out, tci)
	return append(out, f[12:]...)
}

// TestEthernetSubInterfaces: each tagged frame reaches its sub-interface
// (RxPort), with its tags popped (L3 past them, VLAN the inner id) and
// its bytes untouched; an untagged frame stays on the parent; tags for no
// sub-interface, cut short or one too many are dropped by name.
func TestEthernetSubInterfaces(t *testing.T) {
	f := ip4Frame(ourMAC, 10)
	tests := []struct {
		name    string
		data    []byte
		rxPort  uint16
		want    string
		counter string
		port    uint16 // Meta.RxPort after
		l3      uint16
		vlan    uint16
	}{
		{name: "untagged stays on parent", data: f, want: ip4.InputName, port: 0, l3: 14},
		{name: "dot1q", data: tag(f, 0x8100, 100), want: ip4.InputName, port: subDot1q, l3: 18, vlan: 100},
		{name: "dot1q with pcp and dei", data: tag(f, 0x8100, 0xf000|100), want: ip4.InputName, port: subDot1q, l3: 18, vlan: 100},
		{name: "same vlan on another parent", data: tag(f, 0x8100, 100), rxPort: parentEth1, want: ip4.InputName, port: subOnEth1, l3: 18, vlan: 100},
		{name: "qinq 802.1ad", data: tag(tag(f, 0x8100, 300), 0x88a8, 200), want: ip4.InputName, port: subQinQ, l3: 22, vlan: 300},
		{name: "qinq 0x8100 outer", data: tag(tag(f, 0x8100, 8), 0x8100, 7), want: ip4.InputName, port: subQinQ1q, l3: 22, vlan: 8},
		{name: "single tag beside a qinq outer", data: tag(f, 0x8100, 7), want: ip4.InputName, port: subDot1q7, l3: 18, vlan: 7},
		{name: "ipv6 multicast in a vlan", data: tag(withType(ip4Frame(wire.MAC{0x33, 0x33, 0, 0, 0, 1}, 10), uint16(wire.EtherTypeIPv6)), 0x8100, 100), want: ip6Input, port: subDot1q, l3: 18, vlan: 100},
		{name: "ipv4 multicast in a vlan", data: tag(ip4Frame(wire.MAC{0x33, 0x33, 0, 0, 0, 1}, 10), 0x8100, 100), want: "drop " + NodeName + ": multicast", counter: "multicast"},
		{name: "unknown vlan", data: tag(f, 0x8100, 101), want: "drop " + NodeName + ": unknown_vlan", counter: "unknown_vlan"},
		{name: "vlan of another port", data: tag(f, 0x8100, 200), rxPort: parentEth1, want: "drop " + NodeName + ": unknown_vlan", counter: "unknown_vlan"},
		{name: "802.1ad outer alone", data: tag(f, 0x88a8, 200), want: "drop " + NodeName + ": unknown_vlan", counter: "unknown_vlan"},
		{name: "unknown inner", data: tag(tag(f, 0x8100, 301), 0x88a8, 200), want: "drop " + NodeName + ": unknown_vlan", counter: "unknown_vlan"},
		{name: "outer tpid mismatch", data: tag(tag(f, 0x8100, 300), 0x8100, 200), want: "drop " + NodeName + ": unknown_vlan", counter: "unknown_vlan"},
		{name: "too many tags", data: tag(tag(f, 0x8100, 55), 0x8100, 100), want: "drop " + NodeName + ": too_many_tags", counter: "too_many_tags"},
		{name: "three tags", data: tag(tag(tag(f, 0x8100, 1), 0x8100, 300), 0x88a8, 200), want: "drop " + NodeName + ": too_many_tags", counter: "too_many_tags"},
		{name: "inner qinq unmatched falls to single then too many", data: tag(tag(f, 0x8100, 9), 0x8100, 7), want: "drop " + NodeName + ": too_many_tags", counter: "too_many_tags"},
		{name: "truncated tag", data: tag(f, 0x8100, 100)[:15], want: "drop " + NodeName + ": vlan_truncated", counter: "vlan_truncated"},
		{name: "truncated after tag", data: tag(f, 0x8100, 100)[:17], want: "drop " + NodeName + ": vlan_truncated", counter: "vlan_truncated"},
		{name: "truncated inner tag", data: tag(tag(f, 0x8100, 300), 0x88a8, 200)[:20], want: "drop " + NodeName + ": unknown_vlan", counter: "unknown_vlan"},
		{name: "sub-interface down", data: tag(f, 0x8100, 9), want: "drop " + NodeName + ": interface_down", counter: "interface_down"},
		{name: "unknown ethertype inside", data: innerType(tag(f, 0x8100, 100), 0x1234), want: "drop " + NodeName + ": unknown_ethertype", counter: "unknown_ethertype"},
		{name: "qinq max length", data: tag(tag(ip4Frame(ourMAC, 1500-28), 0x8100, 300), 0x88a8, 200), want: ip4.InputName, port: subQinQ, l3: 22, vlan: 300},
		{name: "qinq too long", data: tag(tag(ip4Frame(ourMAC, 1500-28+1), 0x8100, 300), 0x88a8, 200), want: "drop " + NodeName + ": too_long", counter: "too_long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newSubHarness(t)
			r := h.Run(graphtest.Packet{Data: tc.data, Meta: pkt.Meta{RxPort: tc.rxPort}})
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
			if o.Meta.RxPort != tc.port || o.Meta.L3 != tc.l3 || o.Meta.VLAN != tc.vlan {
				t.Errorf("RxPort %d L3 %d VLAN %d, want %d %d %d", o.Meta.RxPort, o.Meta.L3, o.Meta.VLAN, tc.port, tc.l3, tc.vlan)
			}
			if string(o.Data) != string(tc.data) {
				t.Errorf("bytes changed")
			}
		})
	}
}

// TestEthernetSubCounters: a sub-interface's received packets and bytes
// are counted per interface, the parent's untagged ones are not.
func TestEthernetSubCounters(t *testing.T) {
	h, _ := newSubHarness(t)
	f := ip4Frame(ourMAC, 10)
	q := tag(tag(f, 0x8100, 300), 0x88a8, 200)
	h.Run(graphtest.Packet{Data: tag(f, 0x8100, 100)}, graphtest.Packet{Data: q}, graphtest.Packet{Data: q}, graphtest.Packet{Data: f})
	c := Counters(h.Graph())
	if len(c) <= subQinQ {
		t.Fatalf("counters %v", c)
	}
	if got, want := c[subDot1q], (iface.Counters{RxPackets: 1, RxBytes: uint64(len(f) + 4)}); got != want {
		t.Errorf("eth0.100 %+v, want %+v", got, want)
	}
	if got, want := c[subQinQ], (iface.Counters{RxPackets: 2, RxBytes: uint64(2 * len(q))}); got != want {
		t.Errorf("eth0.200.300 %+v, want %+v", got, want)
	}
	if c[0] != (iface.Counters{}) {
		t.Errorf("parent counted %+v", c[0])
	}
}

// TestEthernetSubAllocs: classifying tagged frames allocates nothing.
func TestEthernetSubAllocs(t *testing.T) {
	h, _ := newSubHarness(t)
	f := ip4Frame(ourMAC, 64)
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		switch k % 3 {
		case 0:
			pkts[k].Data = tag(f, 0x8100, 100)
		case 1:
			pkts[k].Data = tag(tag(f, 0x8100, 300), 0x88a8, 200)
		default:
			pkts[k].Data = f
		}
	}
	h.Send(NodeName, pkts...) // the counters grow once
	if n := testing.AllocsPerRun(100, func() { h.Send(NodeName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// FuzzEthernetInput: any bytes on the parent, on either port, reach a
// node or are dropped by name; never a panic, never a popped tag past the
// frame.
func FuzzEthernetInput(f *testing.F) {
	fr := ip4Frame(ourMAC, 10)
	for _, s := range [][]byte{fr, tag(fr, 0x8100, 100), tag(tag(fr, 0x8100, 300), 0x88a8, 200), tag(tag(fr, 0x8100, 8), 0x8100, 7),
		tag(fr, 0x8100, 100)[:15], tag(tag(tag(fr, 0x8100, 1), 0x8100, 300), 0x88a8, 200), tag(fr, 0x88a8, 200)[:18]} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, eth1 bool) {
		h, _ := newSubHarness(t)
		var port uint16
		if eth1 {
			port = parentEth1
		}
		r := h.Run(graphtest.Packet{Data: data, Meta: pkt.Meta{RxPort: port}})
		o := &r.Out[0]
		if o.Next == "" {
			if o.Drop == "" {
				t.Fatalf("dropped without a counter")
			}
			return
		}
		if int(o.Meta.L3) > len(data) || o.Meta.L3 < wire.EthernetLen {
			t.Fatalf("L3 %d of a %d-byte frame", o.Meta.L3, len(data))
		}
	})
}
