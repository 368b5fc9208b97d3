package ip4

import (
	"maps"
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

// The test topology: eth0 (port 0) 10.0.0.1/24, MTU 1500; eth1 (port 1)
// 10.1.0.1/24, MTU 1400, with neighbour 10.1.0.2 resolved and routes
// 192.168.0.0/16 via it and 172.16.0.0/12 via the unresolved 10.1.0.3;
// eth2 (port 2) has no address.
var (
	mac0     = wire.MAC{0x02, 0, 0, 0, 0, 0x10}
	mac1     = wire.MAC{0x02, 0, 0, 0, 0, 0x11}
	peer0MAC = wire.MAC{0x02, 0, 0, 0, 0, 0x20}
	peer1MAC = wire.MAC{0x02, 0, 0, 0, 0, 0x21}

	addr0   = [4]byte{10, 0, 0, 1}
	host0   = [4]byte{10, 0, 0, 2}
	addr1   = [4]byte{10, 1, 0, 1}
	nh1     = [4]byte{10, 1, 0, 2}
	remote  = [4]byte{192, 168, 7, 7}
	far     = [4]byte{8, 8, 8, 8}
	pending = [4]byte{172, 16, 0, 9}
)

type topo struct {
	ifs *iface.Table
	fib *fib.Table
}

func newTopo(t testing.TB) *topo {
	t.Helper()
	tp := &topo{ifs: iface.NewTable(), fib: fib.New()}
	add := func(name string, mac wire.MAC, mtu uint16, p string) {
		i, err := tp.ifs.Add(name, mac, mtu)
		if err != nil {
			t.Fatal(err)
		}
		tp.fib.AddInterface(i, mac, mtu)
		if p == "" {
			return
		}
		pfx := netip.MustParsePrefix(p)
		if err := tp.ifs.AddAddress(i, pfx); err != nil {
			t.Fatal(err)
		}
		if err := tp.fib.AddConnected(i, pfx); err != nil {
			t.Fatal(err)
		}
	}
	add("eth0", mac0, 1500, "10.0.0.1/24")
	add("eth1", mac1, 1400, "10.1.0.1/24")
	add("eth2", wire.MAC{0x02, 0, 0, 0, 0, 0x12}, 1500, "")
	tp.fib.SetNeighbor(1, nh1, peer1MAC)
	if err := tp.fib.AddRoute(netip.MustParsePrefix("192.168.0.0/16"), []fib.NextHop{{Addr: netip.AddrFrom4(nh1), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	if err := tp.fib.AddRoute(netip.MustParsePrefix("172.16.0.0/12"), []fib.NextHop{{Addr: netip.AddrFrom4([4]byte{10, 1, 0, 3}), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	return tp
}

// adj returns the adjacency index ip4-lookup picks for dst.
func (tp *topo) adj(dst [4]byte) uint32 { return uint32(tp.fib.Load().Lookup(dst, 0)) }

// ipFrame builds an Ethernet/IPv4 frame from src to dst (UDP unless spec
// says otherwise), as ethernet-input leaves it: Meta.L3 = 14.
func ipFrame(src, dst [4]byte, s frames.Spec) graphtest.Packet {
	s.Src, s.Dst, s.SrcMAC, s.DstMAC = src, dst, peer0MAC, mac0
	d := frames.IPv4(s)
	return graphtest.Packet{Data: d, Meta: pkt.Meta{L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv4MinLen}}
}

// edit applies f to the IPv4 header of p's frame and fixes the checksum.
func edit(p graphtest.Packet, f func(ip wire.IPv4)) graphtest.Packet {
	ip := wire.IPv4(p.Data[p.Meta.L3:])
	f(ip)
	ip.SetChecksum(0) // over 20 bytes: f may have broken the IHL
	ip.SetChecksum(wire.Checksum(ip[:wire.IPv4MinLen], 0))
	return p
}

func checkCounters(t *testing.T, r *graphtest.Result, want map[string]uint64) {
	t.Helper()
	if want == nil {
		want = map[string]uint64{}
	}
	if !maps.Equal(r.Counters, want) {
		t.Errorf("counters %v, want %v", r.Counters, want)
	}
}

// one returns a one-entry counter map.
func one(node, err string) map[string]uint64 {
	return map[string]uint64{graphtest.Label(node, err): 1}
}

func ipOf(o *graphtest.Outcome) wire.IPv4 { return wire.IPv4(o.Data[o.Meta.L3:]) }

// packICMP packs an ICMP request and MTU into one value for comparisons
// (type, code, MTU), as packed reads it from a Meta.
func packICMP(typ, code uint8, mtu uint16) uint32 {
	return uint32(typ)<<24 | uint32(code)<<16 | uint32(mtu)
}

// packed returns m's ICMP request and MTU packed as packICMP does.
func packed(m *pkt.Meta) uint32 { return packICMP(m.ICMP.Type, m.ICMP.Code, m.MTU) }
