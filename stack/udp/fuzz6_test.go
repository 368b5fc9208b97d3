package udp_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

// expect6 classifies an IPv6 packet (upper layer right after the fixed
// header) the slow way: "drop", "handler", "socket" or "icmp".
func expect6(b []byte) (string, []byte) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return "drop", nil
	}
	end := min(40+int(binary.BigEndian.Uint16(b[4:])), len(b))
	if end-40 < 8 {
		return "drop", nil
	}
	u := b[40:end]
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < 8 || ulen > len(u) {
		return "drop", nil
	}
	u = u[:ulen]
	pseudo := append(append([]byte{}, b[8:40]...), 0, 0, byte(ulen>>8), byte(ulen), 0, 0, 0, 17)
	if binary.BigEndian.Uint16(u[6:]) == 0 || slowSum(pseudo, u) != 0xffff {
		return "drop", nil
	}
	switch port := binary.BigEndian.Uint16(u[2:]); {
	case port == 53:
		return "handler", u[8:]
	case port == 9 && bytes.Equal(b[24:40], server6.Addr().AsSlice()):
		return "socket", u[8:]
	}
	return "icmp", nil
}

// FuzzUDPInput6 is FuzzUDPInput for udp6-input.
func FuzzUDPInput6(f *testing.F) {
	fuzzUDP(f, fuzzFamily{
		node:    udp.Input6Name,
		client:  client6,
		socket:  netip.AddrPortFrom(server6.Addr(), 9),
		handler: server6,
		other:   netip.MustParseAddr("2001:db8:2::1"),
		seeds: []fuzzSeed{
			{netip.AddrPortFrom(server6.Addr(), 9), "bad", func(d []byte) { d[47] ^= 1 }},           // bad checksum
			{netip.AddrPortFrom(server6.Addr(), 9), "zero", func(d []byte) { d[46], d[47] = 0, 0 }}, // no checksum
			{netip.AddrPortFrom(server6.Addr(), 9), "len", func(d []byte) { d[45] = 0xff }},         // UDP length too big
		},
		raw:     []byte{0x60, 0, 0, 0, 0, 8},
		l4:      func([]byte) int { return 40 },
		expect:  expect6,
		src:     func(b []byte) netip.Addr { return netip.AddrFrom16([16]byte(b[8:24])) },
		unreach: pkt.ICMPRequest{Type: wire.ICMPv6DestUnreachable, Code: wire.ICMPv6PortUnreachable},
		replyOK: func(c stacktest.Captured, b []byte, want int) bool {
			ip := wire.IPv6(c.Data[c.Meta.L3:])
			u := wire.UDP(ip.Payload())
			return u.ChecksumValid6(ip.Src(), ip.Dst()) && ip.Dst() == [16]byte(b[8:24]) && len(u.Payload()) == want
		},
	})
}
