package ip4

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// TestIP4RewriteSubInterface: a rewrite to a neighbour on a VLAN
// sub-interface writes the MACs, the sub-interface's tags (one 802.1Q tag,
// or 802.1ad + 802.1Q) and 0x0800 in front of the IP header, whatever link
// header the packet came in with (none, 14 bytes, 18 with a popped tag,
// 22): the frame leaves on the sub-interface, the IP packet unchanged but
// for its TTL.
func TestIP4RewriteSubInterface(t *testing.T) {
	f := fib.New()
	peer := wire.MAC{2, 0, 0, 0, 0, 0x99}
	subs := []struct {
		port  uint16
		tags  []byte
		addr  string
		nh    [4]byte
		dst   [4]byte
		route string
	}{
		{1, []byte{0x81, 0x00, 0x00, 100}, "10.100.0.1/24", [4]byte{10, 100, 0, 2}, [4]byte{192, 168, 1, 1}, "192.168.1.0/24"},
		{2, []byte{0x88, 0xa8, 0x00, 200, 0x81, 0x00, 0x01, 0x2c}, "10.200.0.1/24", [4]byte{10, 200, 0, 2}, [4]byte{192, 168, 2, 1}, "192.168.2.0/24"},
	}
	f.AddInterface(0, mac0, 1500)
	for _, s := range subs {
		var tags [fib.MaxTagBytes]byte
		copy(tags[:], s.tags)
		f.AddInterface(s.port, mac0, 1500-uint16(len(s.tags)))
		f.SetTags(s.port, tags, uint8(len(s.tags)))
		if err := f.AddConnected(s.port, netip.MustParsePrefix(s.addr)); err != nil {
			t.Fatal(err)
		}
		f.SetNeighbor(s.port, s.nh, peer)
		if err := f.AddRoute(netip.MustParsePrefix(s.route), []fib.NextHop{{Addr: netip.AddrFrom4(s.nh), Port: -1}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range subs {
		for _, inTags := range [][]byte{nil, {0x81, 0x00, 0x00, 7}, {0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2}, {}} {
			origin := inTags != nil && len(inTags) == 0 // a packet we originate: no link header yet
			ip := frames.IPv4(frames.Spec{SrcMAC: peer0MAC, DstMAC: mac0, Src: [4]byte{10, 0, 0, 2}, Dst: s.dst, TTL: 64, Payload: 20})[wire.EthernetLen:]
			var d []byte
			if !origin {
				d = append(append(append([]byte(nil), make([]byte, 12)...), inTags...), 0x08, 0x00)
			}
			d = append(d, ip...)
			l3 := uint16(len(d) - len(ip))
			m := pkt.Meta{L3: l3, L4: l3 + wire.IPv4MinLen, Adj: uint32(f.Load().Lookup(s.dst, 0))}
			if origin {
				m.Flags = pkt.FlagLocal
			}
			h := graphtest.New(t, RewriteNode(f), graphtest.Options{})
			r := h.Run(graphtest.Packet{Data: d, Meta: m})
			o := &r.Out[0]
			if o.Where() != driver.OutputNodeName {
				t.Fatalf("port %d, in tags % x: %s", s.port, inTags, o.Where())
			}
			hl := 14 + len(s.tags)
			want := append(append(append(append([]byte(nil), peer[:]...), mac0[:]...), s.tags...), 0x08, 0x00)
			if string(o.Data[:hl]) != string(want) {
				t.Errorf("port %d, in tags % x: header % x, want % x", s.port, inTags, o.Data[:hl], want)
			}
			if o.Meta.L3 != uint16(hl) || o.Meta.L4 != uint16(hl)+wire.IPv4MinLen || len(o.Data) != hl+len(ip) || o.Meta.TxPort != s.port {
				t.Errorf("port %d: L3 %d L4 %d len %d TxPort %d", s.port, o.Meta.L3, o.Meta.L4, len(o.Data), o.Meta.TxPort)
			}
			out := wire.IPv4(o.Data[hl:])
			wantTTL := uint8(63)
			if origin {
				wantTTL = 64
			}
			if out.TTL() != wantTTL || !out.ChecksumValid() || binary.BigEndian.Uint32(out[16:20]) != binary.BigEndian.Uint32(s.dst[:]) {
				t.Errorf("port %d: IP header % x", s.port, out[:20])
			}
		}
	}
}
