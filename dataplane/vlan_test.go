package dataplane

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// VLAN rig: eth0 (index 0, port 0, untagged, 10.0.1.0/24) and eth1
// (index 1, port 1) with eth1.100 (index 2, 802.1Q 100, 10.0.100.0/24)
// and eth1.200.300 (index 3, 802.1ad 200 + 802.1Q 300, 10.0.200.0/24).
var (
	ipS1   = [4]byte{10, 0, 100, 1}
	ipH1   = [4]byte{10, 0, 100, 2}
	ipS2   = [4]byte{10, 0, 200, 1}
	ipH2   = [4]byte{10, 0, 200, 2}
	tag100 = []byte{0x81, 0x00, 0x00, 100}
	tagQQ  = []byte{0x88, 0xa8, 0x00, 200, 0x81, 0x00, 0x01, 0x2c}
)

func newVLANRig(t testing.TB) *rig {
	t.Helper()
	dp, err := New(4096)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dp: dp, cache: dp.Pool.NewCache()}
	if _, err := dp.AddInterface("eth0", macA, 1500, netip.MustParsePrefix("10.0.1.1/24")); err != nil {
		t.Fatal(err)
	}
	if _, err := dp.AddInterface("eth1", macB, 1500); err != nil {
		t.Fatal(err)
	}
	if i, err := dp.AddSubInterface("eth1.100", iface.Sub{Parent: 1, VLAN: 100}, 0, netip.MustParsePrefix("10.0.100.1/24")); err != nil || i != 2 {
		t.Fatal(i, err)
	}
	if i, err := dp.AddSubInterface("eth1.200.300", iface.Sub{Parent: 1, OuterVLAN: 200, VLAN: 300}, 0, netip.MustParsePrefix("10.0.200.1/24")); err != nil || i != 3 {
		t.Fatal(i, err)
	}
	r.ports[0], r.ports[1] = &capturePort{}, &capturePort{}
	// The sub-interfaces send on their parent's port.
	r.g, err = dp.BuildGraph(r.cache, nil, []driver.Port{r.ports[0], r.ports[1], r.ports[1], r.ports[1]})
	if err != nil {
		t.Fatal(err)
	}
	r.g.SetClock(func() int64 { return r.now })
	t.Cleanup(func() {
		r.g.Close()
		r.cache.Flush()
		if n := dp.Pool.InUse(); n != 0 {
			t.Errorf("%d buffers leaked", n)
		}
		dp.Close()
	})
	return r
}

// withTags inserts tags after the MACs of frame f.
func withTags(f, tags []byte) []byte {
	return append(append(append([]byte(nil), f[:12]...), tags...), f[12:]...)
}

// TestForwardToAndFromSubInterfaces: with no neighbour yet, forwarding
// from the untagged eth0 to a host on each sub-interface sends an ARP
// request on eth1's port carrying the sub-interface's tags; the tagged
// reply is learned on the sub-interface and releases the packet, which
// leaves tagged; the host's tagged answer is routed back out of eth0
// untagged.
func TestForwardToAndFromSubInterfaces(t *testing.T) {
	r := newVLANRig(t)
	for _, s := range []struct {
		sub       uint16
		tags      []byte
		self, dst [4]byte
	}{{2, tag100, ipS1, ipH1}, {3, tagQQ, ipS2, ipH2}} {
		in := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: s.dst, TTL: 9, Payload: 18})
		r.inject(0, in)
		out := r.ports[1].take()
		hl := wire.EthernetLen + len(s.tags)
		if len(out) != 1 || string(out[0][12:12+len(s.tags)]) != string(s.tags) {
			t.Fatalf("sub %d: want one tagged ARP request, got %x (errors %+v)", s.sub, out, r.g.Errors(false))
		}
		if arp, ok := wire.ParseARP(out[0][hl:]); !ok || arp.Op() != wire.ARPRequest || arp.TargetIP() != s.dst || arp.SenderIP() != s.self {
			t.Fatalf("sub %d: bad ARP request % x", s.sub, out[0])
		}
		r.inject(1, withTags(arpFrame(wire.ARPReply, hostB, s.dst, macB, macB, s.self), s.tags))
		if _, ok := r.dp.Neighbors.Get(s.sub, s.dst); !ok {
			t.Fatalf("sub %d: neighbour not learned on it (errors %+v)", s.sub, r.g.Errors(false))
		}
		out = r.ports[1].take()
		if len(out) != 1 {
			t.Fatalf("sub %d: %d frames released, want 1 (errors %+v)", s.sub, len(out), r.g.Errors(false))
		}
		want := append(append(append(append([]byte(nil), hostB[:]...), macB[:]...), s.tags...), 0x08, 0x00)
		if string(out[0][:hl]) != string(want) {
			t.Fatalf("sub %d: header % x, want % x", s.sub, out[0][:hl], want)
		}
		ip, e := wire.ParseIPv4(out[0][hl:])
		if e != wire.IPv4OK || ip.TTL() != 8 || !ip.ChecksumValid() || ip.Dst() != s.dst {
			t.Fatalf("sub %d: ip % x", s.sub, out[0][hl:])
		}
		// Back: tagged from the host, out of eth0 untagged.
		r.dp.Neighbors.AddStatic(0, ipHA, hostA)
		back := withTags(buildFrame(frameSpec{SrcMAC: hostB, DstMAC: macB, Src: s.dst, Dst: ipHA, TTL: 9, Payload: 18}), s.tags)
		r.inject(1, back)
		out = r.ports[0].take()
		if len(out) != 1 || wire.Ethernet(out[0]).Type() != wire.EtherTypeIPv4 || wire.Ethernet(out[0]).Dst() != hostA {
			t.Fatalf("sub %d: back: %x (errors %+v)", s.sub, out, r.g.Errors(false))
		}
	}
}

// TestForwardingToSubInterfaceAllocatesNothing: the tag push rides the
// rewrite; no allocation per vector; interface-output counts the frames
// (warm-up, AllocsPerRun's own warm-up and 100 runs) and their bytes, tags
// included, on the sub-interface.
func TestForwardingToSubInterfaceAllocatesNothing(t *testing.T) {
	r := newVLANRig(t)
	r.dp.Neighbors.AddStatic(3, ipH2, hostB)
	r.ports[1].discard = true
	frame := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipH2, Payload: 18})
	a := r.dp.Arena
	var v pkt.Vector
	run := func() {
		for k := range pkt.VectorSize {
			i, _ := r.cache.Alloc()
			d, _ := a.SetData(i, pkt.Headroom, len(frame))
			copy(d, frame)
			v.Idx[k] = i
		}
		v.Len = pkt.VectorSize
		r.g.Inject(ethernet.NodeName, &v)
		r.g.Dispatch()
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per 256-packet vector, want 0", n)
	}
	if c := driver.SubCounters(r.g); len(c) <= 3 || c[3].TxPackets != 102*pkt.VectorSize || c[3].TxBytes != 102*pkt.VectorSize*uint64(len(frame)+8) {
		t.Fatalf("tx counters %+v", c)
	}
}
