package dataplane

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

var (
	ip6RA   = netip.MustParseAddr("2001:db8:1::1").As16()
	ip6RB   = netip.MustParseAddr("2001:db8:2::1").As16()
	ip6HA   = netip.MustParseAddr("2001:db8:1::2").As16()
	ip6HB   = netip.MustParseAddr("2001:db8:2::2").As16()
	ip6Far  = netip.MustParseAddr("2001:db8:77::9").As16() // behind hostB
	ip6None = netip.MustParseAddr("2001:db8:99::1").As16() // no route
)

// newRig6 is newRig with IPv6 addresses on both interfaces (eth1's MTU is
// 1400).
func newRig6(t testing.TB) *rig {
	r := newRig(t)
	if err := r.dp.AddAddress6(0, netip.MustParsePrefix("2001:db8:1::1/64")); err != nil {
		t.Fatal(err)
	}
	if err := r.dp.AddAddress6(1, netip.MustParsePrefix("2001:db8:2::1/64")); err != nil {
		t.Fatal(err)
	}
	return r
}

// resolve6 installs IPv6 neighbours and a route behind hostB.
func (r *rig) resolve6() {
	r.dp.ND.AddStatic(0, ip6HA, hostA)
	r.dp.ND.AddStatic(1, ip6HB, hostB)
	if err := r.dp.FIB6.AddRoute(netip.MustParsePrefix("2001:db8:77::/48"), []fib.NextHop{{Addr: netip.AddrFrom16(ip6HB), Port: -1}}); err != nil {
		r.t.Fatal(err)
	}
}

func frame6(src, dst [16]byte, hop uint8, next uint8, payload int) []byte {
	return frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: src, Dst: dst, HopLimit: hop, Next: next, Payload: payload})
}

// icmp6Of checks f is an Ethernet/IPv6/ICMPv6 frame with a valid checksum
// and returns its IPv6 and ICMPv6 views.
func icmp6Of(t *testing.T, f []byte) (wire.IPv6, wire.ICMPv6) {
	t.Helper()
	ip, e := wire.ParseIPv6(f[wire.EthernetLen:])
	if e != wire.IPv6OK || ip.NextHeader() != wire.IPProtoICMPv6 {
		t.Fatalf("not ICMPv6: % x", f)
	}
	c := wire.ICMPv6(ip.Payload())
	if !c.ChecksumValid6(ip.Src(), ip.Dst()) {
		t.Fatalf("bad ICMPv6 checksum: % x", f)
	}
	return ip, c
}

func TestForward6(t *testing.T) {
	r := newRig6(t)
	r.resolve6()
	for _, dst := range [][16]byte{ip6HB, ip6Far} {
		r.inject(0, frame6(ip6HA, dst, 64, wire.IPProtoUDP, 100))
		out := r.ports[1].take()
		if len(out) != 1 {
			t.Fatalf("%d frames out of eth1; errors %+v", len(out), r.g.Errors(false))
		}
		f := wire.Ethernet(out[0])
		ip := wire.IPv6(out[0][wire.EthernetLen:])
		if f.Dst() != hostB || f.Src() != macB || f.Type() != wire.EtherTypeIPv6 || ip.HopLimit() != 63 || ip.Dst() != dst {
			t.Fatalf("bad rewrite: % x", out[0][:wire.EthernetLen+wire.IPv6Len])
		}
	}
}

func TestHopLimitExceeded6(t *testing.T) {
	r := newRig6(t)
	r.resolve6()
	r.inject(0, frame6(ip6HA, ip6Far, 1, wire.IPProtoUDP, 40))
	out := r.ports[0].take()
	if len(out) != 1 || len(r.ports[1].take()) != 0 {
		t.Fatalf("%d frames back; errors %+v", len(out), r.g.Errors(false))
	}
	ip, c := icmp6Of(t, out[0])
	if c.Type() != wire.ICMPv6TimeExceeded || c.Code() != 0 || ip.Src() != ip6RA || ip.Dst() != ip6HA || wire.Ethernet(out[0]).Dst() != hostA {
		t.Fatalf("not time exceeded from the router: % x", out[0])
	}
	if r.errCount("ip6-rewrite", "hop_limit_exceeded") != 1 || r.errCount("icmp6-error", "sent") != 1 {
		t.Fatalf("counters: %+v", r.g.Errors(false))
	}
}

func TestPacketTooBig6(t *testing.T) {
	r := newRig6(t)
	r.resolve6()
	r.inject(0, frame6(ip6HA, ip6Far, 64, wire.IPProtoUDP, 1401-wire.IPv6Len-wire.UDPLen)) // 1401 > eth1's 1400
	out := r.ports[0].take()
	if len(out) != 1 || len(r.ports[1].take()) != 0 {
		t.Fatalf("%d frames back; errors %+v", len(out), r.g.Errors(false))
	}
	ip, c := icmp6Of(t, out[0])
	if c.Type() != wire.ICMPv6PacketTooBig || c.Word() != 1400 || ip.Dst() != ip6HA || len(ip) > wire.IPv6MinMTU {
		t.Fatalf("not Packet Too Big with MTU 1400: type %d mtu %d len %d", c.Type(), c.Word(), len(ip))
	}
	// 1400 bytes exactly pass.
	r.inject(0, frame6(ip6HA, ip6Far, 64, wire.IPProtoUDP, 1400-wire.IPv6Len-wire.UDPLen))
	if n := len(r.ports[1].take()); n != 1 {
		t.Fatalf("1400-byte packet: %d out", n)
	}
}

func TestNoRoute6AndEcho(t *testing.T) {
	r := newRig6(t)
	r.resolve6()
	r.inject(0, frame6(ip6HA, ip6None, 64, wire.IPProtoUDP, 10))
	out := r.ports[0].take()
	if len(out) != 1 {
		t.Fatalf("no unreachable: %+v", r.g.Errors(false))
	}
	if _, c := icmp6Of(t, out[0]); c.Type() != wire.ICMPv6DestUnreachable || c.Code() != wire.ICMPv6NoRoute {
		t.Fatalf("type %d code %d", c.Type(), c.Code())
	}
	for _, dst := range [][16]byte{ip6RA, ip6RB} { // both router addresses answer from eth0's side
		r.inject(0, frame6(ip6HA, dst, 64, wire.IPProtoICMPv6, 56))
		out = r.ports[0].take()
		if len(out) != 1 {
			t.Fatalf("no echo reply: %+v", r.g.Errors(false))
		}
		ip, c := icmp6Of(t, out[0])
		if c.Type() != wire.ICMPv6EchoReply || ip.Src() != dst || ip.Dst() != ip6HA || c.Word() != 0x12340001 {
			t.Fatalf("bad echo reply: % x", out[0])
		}
	}
	// UDP to the router: port unreachable.
	r.inject(0, frame6(ip6HA, ip6RA, 64, wire.IPProtoUDP, 10))
	out = r.ports[0].take()
	if len(out) != 1 {
		t.Fatal("no port unreachable")
	}
	if _, c := icmp6Of(t, out[0]); c.Type() != wire.ICMPv6DestUnreachable || c.Code() != wire.ICMPv6PortUnreachable {
		t.Fatalf("type %d code %d", c.Type(), c.Code())
	}
}

// TestNeighborDiscovery6: a packet for an unresolved host is held while a
// solicitation goes to its solicited-node group; the advertisement releases
// it. A solicitation for our address is answered.
func TestNeighborDiscovery6(t *testing.T) {
	r := newRig6(t)
	r.inject(0, frame6(ip6HA, ip6HB, 64, wire.IPProtoUDP, 10))
	out := r.ports[1].take()
	if len(out) != 1 {
		t.Fatalf("%d frames (want one NS); errors %+v", len(out), r.g.Errors(false))
	}
	sn := wire.SolicitedNode(ip6HB)
	ip, c := icmp6Of(t, out[0])
	if wire.Ethernet(out[0]).Dst() != wire.MulticastMAC(sn) || ip.Dst() != sn || ip.Src() != ip6RB || ip.HopLimit() != 255 ||
		c.Type() != wire.ICMPv6NeighborSolicit || c.NDTarget() != ip6HB {
		t.Fatalf("bad NS: % x", out[0])
	}
	if o, e := wire.ParseNDOptions(c[wire.NDMinLen:], wire.NDOptSourceLinkAddr); e != wire.NDOptOK || o.LinkAddr != macB {
		t.Fatalf("NS source link-layer option: %v %v", o, e)
	}
	// An NA with hop limit 64 is ignored (counted), one with 255 resolves.
	na := func(hop uint8) []byte {
		return frames.ND(wire.ICMPv6NeighborAdvert, hostB, macB, ip6HB, ip6RB, ip6HB, wire.NAFlagSolicited|wire.NAFlagOverride, wire.NDOptTargetLinkAddr, hop)
	}
	r.inject(1, na(64))
	if r.errCount("nd-input", "bad_hop_limit") != 1 || len(r.ports[1].take()) != 0 {
		t.Fatalf("NA with hop limit 64 accepted: %+v", r.g.Errors(false))
	}
	r.inject(1, na(255))
	out = r.ports[1].take()
	if len(out) != 1 || wire.Ethernet(out[0]).Dst() != hostB || wire.IPv6(out[0][wire.EthernetLen:]).Dst() != ip6HB {
		t.Fatalf("held packet not released: %d; %+v", len(out), r.g.Errors(false))
	}
	if e, ok := r.dp.ND.Get(1, ip6HB); !ok || e.MAC != hostB {
		t.Fatalf("not learned: %+v", e)
	}
	// An unsolicited NA for an unknown host creates nothing.
	other := netip.MustParseAddr("2001:db8:2::7").As16()
	r.inject(1, frames.ND(wire.ICMPv6NeighborAdvert, hostB, wire.MulticastMAC(wire.AllNodes), other, wire.AllNodes, other, wire.NAFlagOverride, wire.NDOptTargetLinkAddr, 255))
	if _, ok := r.dp.ND.Get(1, other); ok || r.errCount("nd-input", "unsolicited_advert") != 1 {
		t.Fatalf("unsolicited NA learned: %+v", r.g.Errors(false))
	}
	// NS for our address from hostA: NA back, solicited, with our MAC.
	snA := wire.SolicitedNode(ip6RA)
	r.inject(0, frames.ND(wire.ICMPv6NeighborSolicit, hostA, wire.MulticastMAC(snA), ip6HA, snA, ip6RA, 0, wire.NDOptSourceLinkAddr, 255))
	out = r.ports[0].take()
	if len(out) != 1 {
		t.Fatalf("NS not answered: %+v", r.g.Errors(false))
	}
	ip, c = icmp6Of(t, out[0])
	o, e := wire.ParseNDOptions(c[wire.NDMinLen:], wire.NDOptTargetLinkAddr)
	if c.Type() != wire.ICMPv6NeighborAdvert || c.Word()&wire.NAFlagSolicited == 0 || c.NDTarget() != ip6RA || ip.Dst() != ip6HA ||
		ip.HopLimit() != 255 || e != wire.NDOptOK || o.LinkAddr != macA || wire.Ethernet(out[0]).Dst() != hostA {
		t.Fatalf("bad NA: % x", out[0])
	}
	if en, ok := r.dp.ND.Get(0, ip6HA); !ok || en.MAC != hostA {
		t.Fatal("NS sender not learned")
	}
	// NS for our link-local address (EUI-64 of macA).
	ll := LinkLocal(macA).As16()
	llA := netip.MustParseAddr("fe80::2").As16()
	r.inject(0, frames.ND(wire.ICMPv6NeighborSolicit, hostA, wire.MulticastMAC(wire.SolicitedNode(ll)), llA, wire.SolicitedNode(ll), ll, 0, wire.NDOptSourceLinkAddr, 255))
	if out = r.ports[0].take(); len(out) != 1 {
		t.Fatalf("NS for the link-local address not answered: %+v", r.g.Errors(false))
	}
}

// TestDAD6: with DAD on, an address is tentative (not answered) until the
// solicitation went unanswered; an advertisement for a tentative address
// from another node marks it duplicate and it is never used.
func TestDAD6(t *testing.T) {
	r := newRig(t)
	r.dp.DAD = true
	okAddr, dupAddr := netip.MustParsePrefix("2001:db8:1::1/64"), netip.MustParsePrefix("2001:db8:1::5/64")
	okB := netip.MustParsePrefix("2001:db8:2::1/64")
	if err := r.dp.AddAddress6(0, okAddr); err != nil {
		t.Fatal(err)
	}
	if err := r.dp.AddAddress6(0, dupAddr); err != nil {
		t.Fatal(err)
	}
	if err := r.dp.AddAddress6(1, okB); err != nil {
		t.Fatal(err)
	}
	r.g.Poll()
	out := r.ports[0].take() // link-local, okAddr, dupAddr
	if len(out) != 3 || len(r.ports[1].take()) != 2 {
		t.Fatalf("%d DAD solicitations on eth0, want 3; %+v", len(out), r.g.Errors(false))
	}
	ip, c := icmp6Of(t, out[0])
	if ip.Src() != ([16]byte{}) || c.Type() != wire.ICMPv6NeighborSolicit || len(c) != wire.NDMinLen {
		t.Fatalf("bad DAD NS: % x", out[0])
	}
	// Tentative: a solicitation for it is not answered.
	ok16 := okAddr.Addr().As16()
	r.inject(0, frames.ND(wire.ICMPv6NeighborSolicit, hostA, wire.MulticastMAC(wire.SolicitedNode(ok16)), ip6HA, wire.SolicitedNode(ok16), ok16, 0, wire.NDOptSourceLinkAddr, 255))
	if len(r.ports[0].take()) != 0 || r.errCount("nd-input", "tentative_target") != 1 {
		t.Fatalf("tentative address answered: %+v", r.g.Errors(false))
	}
	// Another node defends dupAddr.
	dup16 := dupAddr.Addr().As16()
	r.inject(0, frames.ND(wire.ICMPv6NeighborAdvert, hostA, wire.MulticastMAC(wire.AllNodes), dup16, wire.AllNodes, dup16, wire.NAFlagOverride, wire.NDOptTargetLinkAddr, 255))
	if r.errCount("nd-input", "duplicate_address") != 1 {
		t.Fatalf("duplicate not seen: %+v", r.g.Errors(false))
	}
	r.now += 1.5e9
	r.g.Poll()
	out = r.ports[0].take()
	if len(out) != 2 || len(r.ports[1].take()) != 2 { // the unsolicited NAs (link-local and global)
		t.Fatalf("%d frames after DAD, want 2 unsolicited NAs", len(out))
	}
	in := r.dp.Ifaces.Load().Get(0)
	if !in.Has6(ok16) || in.Has6(dup16) || in.IsTentative6(dup16) {
		t.Fatalf("after DAD: %+v", in)
	}
	if inB := r.dp.Ifaces.Load().Get(1); !inB.Has6(okB.Addr().As16()) || len(inB.Tentative6) != 0 {
		t.Fatalf("eth1 after DAD: %+v", inB)
	}
	dups := map[netip.Prefix]bool{}
	ev := r.dp.ND.DADEvents()
	for _, e := range ev {
		dups[e.Addr] = e.Duplicate
	}
	if len(ev) != 5 || !dups[dupAddr] || dups[okAddr] || dups[okB] {
		t.Fatalf("DAD events %+v", ev)
	}
	// Now answered.
	r.inject(0, frames.ND(wire.ICMPv6NeighborSolicit, hostA, wire.MulticastMAC(wire.SolicitedNode(ok16)), ip6HA, wire.SolicitedNode(ok16), ok16, 0, wire.NDOptSourceLinkAddr, 255))
	if len(r.ports[0].take()) != 1 {
		t.Fatalf("confirmed address not answered: %+v", r.g.Errors(false))
	}
}

func TestMalformed6(t *testing.T) {
	good := func() []byte { return frame6(ip6HA, ip6HB, 64, wire.IPProtoUDP, 20) }
	ipOff := wire.EthernetLen
	many := make([][]byte, 9)
	for k := range many {
		many[k] = frames.ExtHeader(wire.IPProtoDestOpts, 1)
	}
	tests := []struct {
		name          string
		frame         []byte
		node, counter string
	}{
		{"too short", good()[:ipOff+30], "ip6-input", "too_short"},
		{"version 4", func() []byte { f := good(); f[ipOff] = 0x40; return f }(), "ip6-input", "bad_version"},
		{"payload length past frame", func() []byte { f := good(); binary.BigEndian.PutUint16(f[ipOff+4:], 1000); return f }(), "ip6-input", "bad_length"},
		{"multicast source", func() []byte { f := good(); f[ipOff+8] = 0xff; return f }(), "ip6-input", "bad_source"},
		{"loopback source", frame6(netip.IPv6Loopback().As16(), ip6HB, 64, wire.IPProtoUDP, 8), "ip6-input", "loopback_source"},
		{"unspecified source to unicast", frame6([16]byte{}, ip6HB, 64, wire.IPProtoUDP, 8), "ip6-input", "bad_source"},
		{"own source", frame6(ip6RB, ip6HB, 64, wire.IPProtoUDP, 8), "ip6-input", "own_source"},
		{"routed multicast", frame6(ip6HA, netip.MustParseAddr("ff0e::1").As16(), 64, wire.IPProtoUDP, 8), "ip6-input", "multicast"},
		{"foreign link-local destination", frame6(ip6HA, netip.MustParseAddr("fe80::99").As16(), 64, wire.IPProtoUDP, 8), "ip6-input", "link_local_not_ours"},
		{"nine extension headers", frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: ip6HA, Dst: ip6HB, Ext: many, Payload: 8}), "ip6-input", "ext_too_many"},
		{"extension header too long", frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: ip6HA, Dst: ip6HB, Ext: [][]byte{frames.ExtHeader(wire.IPProtoDestOpts, 70)}}), "ip6-input", "ext_too_long"},
		{"extension header truncated", func() []byte {
			f := frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: ip6HA, Dst: ip6HB, Ext: [][]byte{frames.ExtHeader(wire.IPProtoDestOpts, 1)}})
			f[ipOff+wire.IPv6Len+1] = 20
			return f
		}(), "ip6-input", "ext_truncated"},
		{"hop-by-hop second", frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: ip6HA, Dst: ip6HB,
			Ext: [][]byte{frames.ExtHeader(wire.IPProtoDestOpts, 1), frames.ExtHeader(wire.IPProtoHopByHop, 1)}}), "ip6-input", "hop_by_hop_not_first"},
		{"RH0 with segments left", frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: ip6HA, Dst: ip6HB, Ext: [][]byte{frames.RoutingHeader(0, 1)}}), "ip6-input", "routing_header_0"},
		{"icmp bad checksum to router", func() []byte {
			f := frame6(ip6HA, ip6RA, 64, wire.IPProtoICMPv6, 8)
			f[ipOff+wire.IPv6Len+2] ^= 0xff
			return f
		}(), "ip6-local", "icmp_bad_checksum"},
		{"tcp to router", frame6(ip6HA, ip6RA, 64, wire.IPProtoTCP, 20), "ip6-local", "tcp_no_listener"},
		{"fragment to router", frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: ip6HA, Dst: ip6RA, Ext: [][]byte{frames.ExtHeader(wire.IPProtoFragment, 1)}}), "ip6-local", "fragment"},
		{"NS with zero-length option", func() []byte {
			sn := wire.SolicitedNode(ip6RA)
			f := frames.ND(wire.ICMPv6NeighborSolicit, hostA, wire.MulticastMAC(sn), ip6HA, sn, ip6RA, 0, wire.NDOptSourceLinkAddr, 255)
			c := wire.ICMPv6(f[ipOff+wire.IPv6Len:])
			c[25] = 0
			c.SetChecksum(c.ComputeChecksum6(ip6HA, sn))
			return f
		}(), "nd-input", "bad_option"},
		{"NS for a multicast target", func() []byte {
			sn := wire.SolicitedNode(ip6RA)
			return frames.ND(wire.ICMPv6NeighborSolicit, hostA, wire.MulticastMAC(sn), ip6HA, sn, wire.AllNodes, 0, wire.NDOptSourceLinkAddr, 255)
		}(), "nd-input", "bad_target"},
		{"router advertisement", func() []byte {
			f := frames.ND(wire.ICMPv6RouterAdvert, hostA, wire.MulticastMAC(wire.AllNodes), netip.MustParseAddr("fe80::2").As16(), wire.AllNodes, [16]byte{}, 0, 0, 255)
			return f
		}(), "ip6-local", "router_discovery"},
		{"router solicitation, RAs off", func() []byte {
			// frames.ND cut to an 8-byte RS without options.
			allRouters := netip.MustParseAddr("ff02::2").As16()
			f := frames.ND(wire.ICMPv6RouterSolicit, hostA, wire.MulticastMAC(allRouters), netip.MustParseAddr("fe80::2").As16(), allRouters, [16]byte{}, 0, 0, 255)
			f = f[:ipOff+wire.IPv6Len+8]
			wire.IPv6(f[ipOff:]).SetPayloadLen(8)
			c := wire.ICMPv6(f[ipOff+wire.IPv6Len:])
			c.SetChecksum(0)
			c.SetChecksum(c.ComputeChecksum6(netip.MustParseAddr("fe80::2").As16(), allRouters))
			return f
		}(), "nd-input", "rs_ignored"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig6(t)
			r.resolve6()
			r.inject(0, tc.frame)
			if got := r.errCount(tc.node, tc.counter); got != 1 {
				t.Fatalf("%s/%s = %d, want 1; errors: %+v", tc.node, tc.counter, got, r.g.Errors(false))
			}
			if out := len(r.ports[0].take()) + len(r.ports[1].take()); out != 0 {
				t.Fatalf("%d frames sent for a malformed input", out)
			}
			var total uint64
			for _, e := range r.g.Errors(false) {
				total += e.Count
			}
			if total != 1 {
				t.Fatalf("counters moved %d times: %+v", total, r.g.Errors(false))
			}
		})
	}
}

func TestForward6Allocs(t *testing.T) {
	r := newRig6(t)
	r.resolve6()
	r.ports[1].discard = true
	f := frame6(ip6HA, ip6Far, 64, wire.IPProtoUDP, 64)
	var v pkt.Vector
	a := r.dp.Arena
	allocs := testing.AllocsPerRun(200, func() {
		v.Reset()
		for k := 0; k < 32; k++ {
			i, _ := r.cache.Alloc()
			d, _ := a.SetData(i, pkt.Headroom, len(f))
			copy(d, f)
			a.Meta(i).RxPort = 0
			v.Append(i)
		}
		_ = r.g.Inject("ethernet-input", &v)
		r.g.Dispatch()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per vector of 32 forwarded IPv6 packets", allocs)
	}
	if r.ports[1].stats.TxPackets < 200*32 {
		t.Fatalf("only %d forwarded", r.ports[1].stats.TxPackets)
	}
}
