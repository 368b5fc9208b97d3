package wire

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// udp6 builds an IPv6/UDP packet with a complete checksum.
func udp6(payload int) IPv6 {
	src, dst := netip.MustParseAddr("2001:db8:1::2").As16(), netip.MustParseAddr("2001:db8:2::2").As16()
	b := make([]byte, IPv6Len+UDPLen+payload)
	ip := IPv6(b)
	ip.Encode(&IPv6Fields{PayloadLen: uint16(UDPLen + payload), NextHeader: IPProtoUDP, HopLimit: 64, Src: src, Dst: dst})
	u := b[IPv6Len:]
	binary.BigEndian.PutUint16(u[0:], 5000)
	binary.BigEndian.PutUint16(u[2:], 53)
	binary.BigEndian.PutUint16(u[4:], uint16(UDPLen+payload))
	for k := UDPLen; k < len(u); k++ {
		u[k] = byte(k * 7)
	}
	c := Checksum(u, PseudoHeaderSum6(src, dst, IPProtoUDP, uint32(len(u))))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return ip
}

func TestCompletePartialL4Checksum6(t *testing.T) {
	for _, n := range []int{0, 1, 2, 17, 100, 1000} {
		ip := udp6(n)
		want := binary.BigEndian.Uint16(ip[IPv6Len+6:])
		// What an offloading sender leaves: the folded pseudo-header sum.
		ps := fold32(PseudoHeaderSum6(ip.Src(), ip.Dst(), IPProtoUDP, uint32(UDPLen+n)))
		binary.BigEndian.PutUint16(ip[IPv6Len+6:], ps)
		if !ip.CompletePartialL4Checksum(IPProtoUDP, IPv6Len) {
			t.Fatalf("payload %d: partial checksum not recognised", n)
		}
		if got := binary.BigEndian.Uint16(ip[IPv6Len+6:]); got != want {
			t.Fatalf("payload %d: completed %#04x, want %#04x", n, got, want)
		}
		// A complete checksum is left alone.
		if ip.CompletePartialL4Checksum(IPProtoUDP, IPv6Len) && binary.BigEndian.Uint16(ip[IPv6Len+6:]) != want {
			t.Fatalf("payload %d: a complete checksum was changed", n)
		}
	}
}

func TestWalkExtensions(t *testing.T) {
	b := make([]byte, IPv6Len+8+24+8)
	ip := IPv6(b)
	ip.Encode(&IPv6Fields{PayloadLen: uint16(len(b) - IPv6Len), NextHeader: IPProtoHopByHop})
	b[IPv6Len] = IPProtoRouting // hop-by-hop, 8 bytes
	r := b[IPv6Len+8:]
	r[0], r[1], r[2], r[3] = IPProtoUDP, 2, 0, 1 // RH0, segments left 1, 24 bytes
	w, e := ip.WalkExtensions(8, 512)
	if e != ExtOK || w.Proto != IPProtoUDP || w.Off != IPv6Len+32 || w.Count != 2 || !w.HopByHop || w.RoutingType != 0 || w.SegmentsLeft != 1 {
		t.Fatalf("%+v %v", w, e)
	}
	if _, e := ip.WalkExtensions(1, 512); e != ExtTooMany {
		t.Fatalf("bound on count: %v", e)
	}
	if _, e := ip.WalkExtensions(8, 16); e != ExtTooLong {
		t.Fatalf("bound on length: %v", e)
	}
	if _, e := IPv6(b[:IPv6Len+20]).WalkExtensions(8, 512); e != ExtTruncated {
		t.Fatalf("truncated: %v", e)
	}
}

func TestMaybePartialL4Checksum6(t *testing.T) {
	ip := udp6(33)
	if ip.MaybePartialL4Checksum(IPProtoUDP, IPv6Len) {
		t.Fatal("complete checksum taken for partial")
	}
	ps := fold32(PseudoHeaderSum6(ip.Src(), ip.Dst(), IPProtoUDP, uint32(UDPLen+33)))
	binary.BigEndian.PutUint16(ip[IPv6Len+6:], ps)
	if !ip.MaybePartialL4Checksum(IPProtoUDP, IPv6Len) {
		t.Fatal("partial checksum not a candidate")
	}
}

// TestMaybePartialAgreesWithComplete: for packets of many sizes and
// addresses, the cheap test takes every checksum the full one completes.
func TestMaybePartialAgreesWithComplete(t *testing.T) {
	for n := 0; n < 300; n++ {
		ip := udp6(n)
		ip[ip6Src+15] = byte(n * 13)
		ip[ip6Dst+3] = byte(n * 7)
		ps := fold32(PseudoHeaderSum6(ip.Src(), ip.Dst(), IPProtoUDP, uint32(UDPLen+n)))
		binary.BigEndian.PutUint16(ip[IPv6Len+6:], ps)
		if !ip.MaybePartialL4Checksum(IPProtoUDP, IPv6Len) {
			t.Fatalf("payload %d: partial checksum %#04x not a candidate", n, ps)
		}
	}
}
