package dataplane

import (
	"testing"

	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/wire"
)

// FuzzIPv6Router sends any bytes as the IPv6 payload of a frame to the
// router (either of its MACs, or a 33:33 group): ip6-input, the extension
// walk, ip6-local, nd-input and icmp6-error must survive them, and every
// buffer comes back (newRig's cleanup checks the pool).
func FuzzIPv6Router(f *testing.F) {
	sn := wire.SolicitedNode(ip6RA)
	for _, fr := range [][]byte{
		frame6(ip6HA, ip6HB, 64, wire.IPProtoUDP, 20),
		frame6(ip6HA, ip6RA, 64, wire.IPProtoICMPv6, 8),
		frame6(ip6HA, ip6Far, 1, wire.IPProtoUDP, 8),
		frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: ip6HA, Dst: ip6HB, Ext: [][]byte{frames.RoutingHeader(0, 1)}}),
		frames.ND(wire.ICMPv6NeighborSolicit, hostA, wire.MulticastMAC(sn), ip6HA, sn, ip6RA, 0, wire.NDOptSourceLinkAddr, 255),
		frames.ND(wire.ICMPv6NeighborAdvert, hostA, macA, ip6HA, ip6RA, ip6HA, wire.NAFlagSolicited, wire.NDOptTargetLinkAddr, 255),
		frames.ND(wire.ICMPv6NeighborSolicit, hostA, wire.MulticastMAC(sn), [16]byte{}, sn, ip6RA, 0, 0, 255),
	} {
		f.Add(fr[wire.EthernetLen:], uint8(0))
	}
	f.Fuzz(func(t *testing.T, payload []byte, to uint8) {
		if len(payload) > 3000 {
			return
		}
		r := newRig6(t)
		r.resolve6()
		dst := macA
		switch to % 3 {
		case 1:
			dst = wire.MulticastMAC(wire.SolicitedNode(ip6RA))
		case 2:
			dst = wire.MulticastMAC(wire.AllNodes)
		}
		fr := make([]byte, wire.EthernetLen+len(payload))
		e := wire.Ethernet(fr)
		e.SetDst(dst)
		e.SetSrc(hostA)
		e.SetType(wire.EtherTypeIPv6)
		copy(fr[wire.EthernetLen:], payload)
		r.inject(0, fr)
		r.now += 2e9
		r.g.Poll() // timers: held packets expire
		r.ports[0].take()
		r.ports[1].take()
	})
}
