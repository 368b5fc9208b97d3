package ip6

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

var (
	mac0   = wire.MAC{0x02, 0, 0, 0, 0, 0x10}
	peer   = wire.MAC{0x02, 0, 0, 0, 0, 0x20}
	ours   = netip.MustParseAddr("2001:db8::1").As16()
	host   = netip.MustParseAddr("2001:db8::2").As16()
	remote = netip.MustParseAddr("2001:db8:9::9").As16()
)

func ifaces(t *testing.T) *iface.Table {
	ifs := iface.NewTable()
	if _, err := ifs.Add("eth0", mac0, 1500); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"2001:db8::1/64", "fe80::10/64"} {
		if err := ifs.AddAddress(0, netip.MustParsePrefix(p)); err != nil {
			t.Fatal(err)
		}
	}
	return ifs
}

func packet(f []byte) graphtest.Packet {
	return graphtest.Packet{Data: f, Meta: pkt.Meta{L3: wire.EthernetLen}}
}

func spec(src, dst [16]byte) frames.Spec6 {
	return frames.Spec6{SrcMAC: peer, DstMAC: mac0, Src: src, Dst: dst, Payload: 8}
}

func TestIP6Input(t *testing.T) {
	ll := netip.MustParseAddr("fe80::10").As16()
	tests := []struct {
		name string
		f    []byte
		want string // next node, or ip6-input's drop counter
	}{
		{"forwarded", frames.IPv6(spec(host, remote)), LookupName},
		{"ours", frames.IPv6(spec(host, ours)), LookupName},
		{"our link-local", frames.IPv6(spec(netip.MustParseAddr("fe80::2").As16(), ll)), LocalName},
		{"all-nodes", frames.IPv6(spec(host, wire.AllNodes)), LocalName},
		{"solicited-node", frames.IPv6(spec(host, wire.SolicitedNode(ours))), LocalName},
		{"DAD source ::", frames.IPv6(spec([16]byte{}, wire.SolicitedNode(ours))), LocalName},
		{"site multicast", frames.IPv6(spec(host, netip.MustParseAddr("ff05::2").As16())), "multicast"},
		{"other link-local", frames.IPv6(spec(host, netip.MustParseAddr("fe80::77").As16())), "link_local_not_ours"},
		{"own source", frames.IPv6(spec(ours, remote)), "own_source"},
		{"loopback destination", frames.IPv6(spec(host, netip.IPv6Loopback().As16())), "loopback_destination"},
		{"short", frames.IPv6(spec(host, remote))[:wire.EthernetLen+39], "too_short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, InputNode(ifaces(t)), graphtest.Options{})
			r := h.Run(packet(tc.f))
			o := &r.Out[0]
			if tc.want == LookupName || tc.want == LocalName {
				if o.Next != tc.want {
					t.Fatalf("got %s, want %s", o.Where(), tc.want)
				}
				return
			}
			if got := o.Where(); got != "drop "+InputName+": "+tc.want {
				t.Fatalf("got %q, want drop %s", got, tc.want)
			}
		})
	}
}

func TestIP6Rewrite(t *testing.T) {
	tb := fib.NewTable6()
	tb.AddInterface(1, wire.MAC{2, 0, 0, 0, 0, 0x11}, 1280)
	if err := tb.AddConnected(1, netip.MustParsePrefix("2001:db8:1::1/64")); err != nil {
		t.Fatal(err)
	}
	nh := netip.MustParseAddr("2001:db8:1::2")
	if err := tb.AddRoute(netip.MustParsePrefix("2001:db8:9::/48"), []fib.NextHop{{Addr: nh, Port: -1}}); err != nil {
		t.Fatal(err)
	}
	tb.SetNeighbor(1, nh.As16(), wire.MAC{2, 0, 0, 0, 0, 0x21})
	adj := uint32(tb.Load().Lookup(remote, 0))
	for _, tc := range []struct {
		name    string
		hop     uint8
		payload int
		want    string
	}{
		{"forwarded", 64, 8, OutputName},
		{"hop limit 1", 1, 8, ICMPErrorName},
		{"hop limit 0", 0, 8, ICMPErrorName},
		{"1280 fits", 64, 1280 - 48, OutputName},
		{"1281 too big", 64, 1281 - 48, ICMPErrorName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, RewriteNode(tb), graphtest.Options{})
			s := spec(host, remote)
			s.HopLimit, s.Payload = tc.hop, tc.payload
			f := frames.IPv6(s)
			if tc.hop == 0 {
				wire.IPv6(f[wire.EthernetLen:]).SetHopLimit(0)
			}
			p := packet(f)
			p.Meta.Adj, p.Meta.Len = adj, uint16(len(f))
			o := &h.Run(p).Out[0]
			if o.Next != tc.want {
				t.Fatalf("got %s, want %s", o.Where(), tc.want)
			}
			if tc.want == OutputName && (wire.IPv6(o.Data[wire.EthernetLen:]).HopLimit() != tc.hop-1 || wire.Ethernet(o.Data).Dst() != (wire.MAC{2, 0, 0, 0, 0, 0x21})) {
				t.Fatalf("bad rewrite % x", o.Data[:wire.EthernetLen+wire.IPv6Len])
			}
		})
	}
}
