package neighbor

import (
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// FuzzARPInput feeds arp-input any bytes after an Ethernet header, on a
// port with or without configuration, with the sender known, solicited or
// neither. The node must not panic, must hand the packet on (answer or
// counted drop, never keep it), an answer must be a well-formed reply from
// us, and the table must stay within its limit. The pool's leak gate
// checks every buffer comes back.
func FuzzARPInput(f *testing.F) {
	for _, p := range [][]byte{
		frames.ARP(wire.ARPRequest, peerMAC, host, wire.BroadcastMAC, wire.MAC{}, addr0),
		frames.ARP(wire.ARPReply, peerMAC, host, mac0, mac0, addr0),
		frames.ARP(wire.ARPRequest, peerMAC, host, wire.BroadcastMAC, wire.MAC{}, host),
		frames.ARP(wire.ARPRequest, peerMAC, [4]byte{10, 0, 0, 255}, wire.BroadcastMAC, wire.MAC{}, addr0),
		frames.ARP(wire.ARPReply, wire.MAC{1, 2, 3, 4, 5, 6}, addr0, mac0, mac0, addr0),
	} {
		for pre := range 3 {
			f.Add(p[wire.EthernetLen:], uint8(0), uint8(pre))
		}
	}
	f.Add([]byte{}, uint8(0), uint8(0))
	f.Add([]byte{0, 1, 8, 0, 6, 4, 0, 1}, uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, rx, pre uint8) {
		tp := newTopo(t)
		tp.nt.SetConfig(Config{MaxEntries: 2})
		h := graphtest.New(t, ARPNode(tp.ifs, tp.nt), graphtest.Options{Slots: 8})
		switch pre % 3 {
		case 1:
			tp.nt.Learn(0, host, otherMAC, 0)
		case 2:
			tp.nt.Solicit(0, host, 0)
		}
		d := append(frames.ARP(wire.ARPRequest, peerMAC, host, wire.BroadcastMAC, wire.MAC{}, addr0)[:wire.EthernetLen:wire.EthernetLen], body...)
		if len(d) > pkt.DataCap {
			d = d[:pkt.DataCap]
		}
		r := h.Run(graphtest.Packet{Data: d, Meta: pkt.Meta{L3: wire.EthernetLen, RxPort: uint16(rx % 2)}})
		o := r.Out[0]
		switch {
		case o.Next == driver.OutputNodeName:
			a, ok := wire.ParseARP(o.Data[wire.EthernetLen:])
			if !ok || a.Op() != wire.ARPReply || a.SenderMAC() != mac0 || a.SenderIP() != addr0 || o.Meta.TxPort != 0 {
				t.Fatalf("answer is not our reply: % x", o.Data)
			}
		case o.Drop == "":
			t.Fatalf("packet went to %q without a drop counter", o.Where())
		}
		if s := tp.nt.Stats(); s.Entries > 2 {
			t.Fatalf("%d entries over the limit of 2", s.Entries)
		}
	})
}
