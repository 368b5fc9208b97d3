package tcpnode_test

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/wire"
)

var (
	tcpPeer6  = netip.MustParseAddrPort("[2001:db8:5::2]:40000")
	tcpLocal6 = netip.MustParseAddrPort("[2001:db8:5::1]:80")
)

// tcpFrame6 builds an Ethernet/IPv6/TCP frame from src to dst, checksum
// set, Meta.L3/L4 as ip6-local leaves them; edit may spoil it.
func tcpFrame6(c *pkt.Cache, src, dst netip.AddrPort, flags uint8, seq, ack uint32, n int, edit func(d []byte, m *pkt.Meta)) pkt.Index {
	i, ok := c.Alloc()
	if !ok {
		panic("pool exhausted")
	}
	a := c.Arena()
	tl := wire.TCPMinLen + n
	d, _ := a.SetData(i, pkt.Headroom, wire.EthernetLen+wire.IPv6Len+tl)
	clear(d[:wire.EthernetLen])
	d[12], d[13] = 0x86, 0xdd
	s16, d16 := src.Addr().As16(), dst.Addr().As16()
	wire.IPv6(d[wire.EthernetLen:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(tl), NextHeader: wire.IPProtoTCP, HopLimit: 64, Src: s16, Dst: d16})
	t := wire.TCP(d[wire.EthernetLen+wire.IPv6Len:])
	t.Encode(&wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: flags, Window: 65535})
	t.SetChecksum(t.ComputeChecksum6(s16, d16, uint16(tl)))
	m := a.Meta(i)
	m.L3 = wire.EthernetLen
	m.L4 = wire.EthernetLen + wire.IPv6Len
	if edit != nil {
		edit(d, m)
	}
	return i
}

// checkTCPOut6 checks that c is a well-formed IPv6/TCP packet from src to
// dst as the stack hands it to ip6-lookup, and returns its TCP header.
func checkTCPOut6(t *testing.T, c stacktest.Captured, src, dst netip.AddrPort) wire.TCP {
	t.Helper()
	if c.Meta.L3 != wire.EthernetLen || c.Meta.L4 != wire.EthernetLen+wire.IPv6Len || c.Meta.Flags&pkt.FlagLocal == 0 {
		t.Fatalf("meta %+v", c.Meta)
	}
	ip := wire.IPv6(c.Data[c.Meta.L3:])
	if ip.Version() != 6 || ip.NextHeader() != wire.IPProtoTCP || ip.HopLimit() != stack.DefaultHopLimit ||
		ip.Src() != src.Addr().As16() || ip.Dst() != dst.Addr().As16() || int(ip.PayloadLen()) != len(c.Data)-int(c.Meta.L4) {
		t.Fatalf("bad IPv6 header % x", c.Data[c.Meta.L3:c.Meta.L4])
	}
	seg := wire.TCP(c.Data[c.Meta.L4:])
	if !seg.ChecksumValid6(src.Addr().As16(), dst.Addr().As16(), uint16(len(seg))) || seg.SrcPort() != src.Port() || seg.DstPort() != dst.Port() {
		t.Fatalf("bad TCP segment % x", seg)
	}
	return seg
}

// TestTCPInput6 runs tcp6-input: named drops for malformed segments, RST
// from a closed port and SYN-ACK (MSS 1500-60) from a listener on ::, sent
// to ip6-lookup.
func TestTCPInput6(t *testing.T) {
	runInputCases(t, tcp6, []inputCase{
		{name: "closed port gets RST", counter: "no_connection", reply: wire.TCPFlagRST | wire.TCPFlagACK},
		{name: "listener on :: answers SYN-ACK", listen: "[::]:80", reply: wire.TCPFlagSYN | wire.TCPFlagACK, mss: 1440},
		{name: "listener on the address answers", listen: tcpLocal6.String(), reply: wire.TCPFlagSYN | wire.TCPFlagACK, mss: 1440},
		{name: "listener on 0.0.0.0 is IPv4 only", listen: "0.0.0.0:80", counter: "no_connection", reply: wire.TCPFlagRST | wire.TCPFlagACK},
		{name: "bad checksum", counter: "bad_checksum", edit: func(d []byte, m *pkt.Meta) { d[m.L4+4] ^= 1 }},
		{name: "payload length cuts the header", counter: "too_short", edit: func(d []byte, m *pkt.Meta) { wire.IPv6(d[m.L3:]).SetPayloadLen(10) }},
		{name: "payload length beyond the frame", counter: "too_short", edit: func(d []byte, m *pkt.Meta) { wire.IPv6(d[m.L3:]).SetPayloadLen(1400) }},
		{name: "L4 inside the IPv6 header", counter: "too_short", edit: func(d []byte, m *pkt.Meta) { m.L4 = m.L3 + 20 }},
	})
}

// FuzzTCPInput6 is fuzzInput for tcp6-input (TCP right after the fixed
// header).
func FuzzTCPInput6(f *testing.F) {
	fuzzInput(f, tcp6, []fuzzSeed{
		{tcpLocal6, wire.TCPFlagSYN, nil},
		{netip.MustParseAddrPort("[2001:db8:5::1]:81"), wire.TCPFlagSYN, nil},
		{tcpLocal6, wire.TCPFlagACK, nil},
		{tcpLocal6, wire.TCPFlagSYN, func(d []byte, m *pkt.Meta) { d[m.L4+5] ^= 1 }},
	}, []byte{0x60, 0, 0, 0, 0, 20},
		func([]byte) int { return wire.IPv6Len },
		func(b []byte, l4 int) bool {
			if len(b) < wire.IPv6Len {
				return false
			}
			ip := wire.IPv6(b)
			end := wire.IPv6Len + int(ip.PayloadLen())
			return end <= len(b) && wire.IPv6Len+wire.TCPMinLen <= end &&
				wire.TCP(b[wire.IPv6Len:end]).ChecksumValid6(ip.Src(), ip.Dst(), uint16(end-wire.IPv6Len))
		},
		func(b []byte) (netip.Addr, netip.Addr) {
			return netip.AddrFrom16(wire.IPv6(b).Src()), netip.AddrFrom16(wire.IPv6(b).Dst())
		})
}
