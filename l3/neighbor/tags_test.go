package neighbor

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// TestPushTags: a frame this package writes for a sub-interface gets the
// sub-interface's tags after its MACs (802.1Q: 4 bytes, QinQ: 8), its L3
// and L4 offsets follow; a hardware interface's frame is left alone.
func TestPushTags(t *testing.T) {
	a, err := pkt.NewArena(2)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ifs := iface.NewTable()
	if _, err := ifs.Add("eth0", mac0, 1500); err != nil {
		t.Fatal(err)
	}
	q, _ := ifs.AddSub("eth0.100", iface.Sub{Parent: 0, VLAN: 100}, 0)
	qq, _ := ifs.AddSub("eth0.200.300", iface.Sub{Parent: 0, OuterVLAN: 200, VLAN: 300}, 0)
	set := ifs.Load()
	frame := frames.ARP(wire.ARPRequest, mac0, [4]byte{10, 0, 0, 1}, wire.BroadcastMAC, wire.MAC{}, [4]byte{10, 0, 0, 2})
	for _, tc := range []struct {
		x    *iface.Interface
		tags []byte
	}{
		{set.Get(0), nil},
		{set.Get(q), []byte{0x81, 0x00, 0x00, 100}},
		{set.Get(qq), []byte{0x88, 0xa8, 0x00, 200, 0x81, 0x00, 0x01, 0x2c}},
	} {
		d, _ := a.SetData(0, pkt.Headroom, len(frame))
		copy(d, frame)
		m := a.Meta(0)
		m.L3, m.L4 = wire.EthernetLen, wire.EthernetLen+8
		if !pushTags(a, 0, tc.x) {
			t.Fatalf("%s: no room", tc.x.Name)
		}
		want := append(append(append([]byte(nil), frame[:12]...), tc.tags...), frame[12:]...)
		if got := a.Data(0); string(got) != string(want) {
			t.Errorf("%s: % x\nwant % x", tc.x.Name, got, want)
		}
		if n := uint16(len(tc.tags)); m.L3 != wire.EthernetLen+n || m.L4 != wire.EthernetLen+8+n {
			t.Errorf("%s: L3 %d L4 %d", tc.x.Name, m.L3, m.L4)
		}
	}
}

// TestARPReplyOnSubInterface: a request received on a sub-interface is
// answered in place, out of the sub-interface, with the tags it came
// with, and its sender is learned on the sub-interface.
func TestARPReplyOnSubInterface(t *testing.T) {
	tp := newTopo(t)
	sub, err := tp.ifs.AddSub("eth0.100", iface.Sub{Parent: 0, VLAN: 100}, 0)
	if err != nil {
		t.Fatal(err)
	}
	tp.fib.AddInterface(sub, mac0, 1496)
	if err := tp.ifs.AddAddress(sub, netip.MustParsePrefix("10.100.0.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := tp.fib.AddConnected(sub, netip.MustParsePrefix("10.100.0.1/24")); err != nil {
		t.Fatal(err)
	}
	f := frames.ARP(wire.ARPRequest, otherMAC, [4]byte{10, 100, 0, 2}, wire.BroadcastMAC, wire.MAC{}, [4]byte{10, 100, 0, 1})
	tagged := append(append(append([]byte(nil), f[:12]...), 0x81, 0x00, 0x00, 100), f[12:]...)
	h := graphtest.New(t, ARPNode(tp.ifs, tp.nt), graphtest.Options{})
	r := h.Run(graphtest.Packet{Data: tagged, Meta: pkt.Meta{L3: wire.EthernetLen + 4, RxPort: sub}})
	o := &r.Out[0]
	if o.Where() != driver.OutputNodeName || o.Meta.TxPort != sub {
		t.Fatalf("got %s on %d", o.Where(), o.Meta.TxPort)
	}
	e := wire.Ethernet(o.Data)
	if e.Dst() != otherMAC || e.Src() != mac0 || string(o.Data[12:16]) != "\x81\x00\x00\x64" || e.Type() != wire.EtherTypeVLAN {
		t.Errorf("reply header % x", o.Data[:18])
	}
	if arp, ok := wire.ParseARP(o.Data[18:]); !ok || arp.Op() != wire.ARPReply || arp.SenderIP() != [4]byte{10, 100, 0, 1} {
		t.Errorf("reply % x", o.Data[18:])
	}
	if _, ok := tp.nt.Get(sub, [4]byte{10, 100, 0, 2}); !ok {
		t.Errorf("sender not learned on the sub-interface")
	}
}
