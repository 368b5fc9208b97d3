package tcpnode_test

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
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
	for _, tc := range []struct {
		name    string
		listen  string
		edit    func(d []byte, m *pkt.Meta)
		counter string
		reply   uint8
	}{
		{name: "closed port gets RST", counter: "no_connection", reply: wire.TCPFlagRST | wire.TCPFlagACK},
		{name: "listener on :: answers SYN-ACK", listen: "[::]:80", reply: wire.TCPFlagSYN | wire.TCPFlagACK},
		{name: "listener on the address answers", listen: tcpLocal6.String(), reply: wire.TCPFlagSYN | wire.TCPFlagACK},
		{name: "listener on 0.0.0.0 is IPv4 only", listen: "0.0.0.0:80", counter: "no_connection", reply: wire.TCPFlagRST | wire.TCPFlagACK},
		{name: "bad checksum", counter: "bad_checksum", edit: func(d []byte, m *pkt.Meta) { d[m.L4+4] ^= 1 }},
		{name: "payload length cuts the header", counter: "too_short", edit: func(d []byte, m *pkt.Meta) { wire.IPv6(d[m.L3:]).SetPayloadLen(10) }},
		{name: "payload length beyond the frame", counter: "too_short", edit: func(d []byte, m *pkt.Meta) { wire.IPv6(d[m.L3:]).SetPayloadLen(1400) }},
		{name: "L4 inside the IPv6 header", counter: "too_short", edit: func(d []byte, m *pkt.Meta) { m.L4 = m.L3 + 20 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := stacktest.New(t, 256, stack.Config{TCP: &tcp.Config{}})
			defer r.Close()
			if tc.listen != "" {
				l, err := r.TCP.Listen(netip.MustParseAddrPort(tc.listen), 8)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			}
			r.DeliverTo(0, tcpnode.Input6Name, tcpFrame6(r.Caches[0], tcpPeer6, tcpLocal6, wire.TCPFlagSYN, 1000, 0, 0, tc.edit))
			for _, name := range []string{"too_short", "bad_checksum", "no_connection"} {
				want := uint64(0)
				if name == tc.counter {
					want = 1
				}
				if got := r.Errors(0, tcpnode.Input6Name, name); got != want {
					t.Errorf("%s %s = %d, want %d", tcpnode.Input6Name, name, got, want)
				}
			}
			out := r.TakeLookup()
			if tc.reply == 0 {
				if len(out) != 0 {
					t.Fatalf("%d packets sent, want none", len(out))
				}
				return
			}
			if len(out) != 1 {
				t.Fatalf("%d packets sent, want 1", len(out))
			}
			seg := checkTCPOut6(t, out[0], tcpLocal6, tcpPeer6)
			if seg.Flags() != tc.reply || seg.Ack() != 1001 {
				t.Fatalf("answer flags %#x ack %d", seg.Flags(), seg.Ack())
			}
			if tc.reply&wire.TCPFlagSYN != 0 {
				var o wire.TCPOptions
				if !wire.ParseTCPOptions(seg.Options(), &o) || o.MSS != 1440 {
					t.Fatalf("SYN-ACK MSS %d, want 1440", o.MSS)
				}
			}
		})
	}
}

// TestTCPInput6Allocs: tcp6-input, the engine and the IPv6 output allocate
// nothing per segment.
func TestTCPInput6Allocs(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{TCP: &tcp.Config{}})
	defer r.Close()
	r.Discard = true
	var idx [32]pkt.Index
	run := func() {
		for k := range idx {
			idx[k] = tcpFrame6(r.Caches[0], tcpPeer6, tcpLocal6, wire.TCPFlagSYN, uint32(k), 0, 0, nil)
		}
		r.DeliverTo(0, tcpnode.Input6Name, idx[:]...)
	}
	run()
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Fatalf("%.1f allocs per vector", a)
	}
	if r.Discarded == 0 {
		t.Fatal("no RST sent")
	}
}

// FuzzTCPInput6: tcp6-input survives any IPv6 packet; only valid segments
// are answered, and every answer is well formed.
func FuzzTCPInput6(f *testing.F) {
	r := stacktest.New(f, 1024, stack.Config{TCP: &tcp.Config{}})
	f.Cleanup(r.Close)
	l, err := r.TCP.Listen(tcpLocal6, 4)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(l.Close)
	seed := func(dst netip.AddrPort, flags uint8, edit func(d []byte, m *pkt.Meta)) {
		i := tcpFrame6(r.Caches[0], tcpPeer6, dst, flags, 77, 0, 0, edit)
		f.Add(append([]byte(nil), r.Arena.Data(i)[wire.EthernetLen:]...))
		r.Caches[0].Free(i)
	}
	seed(tcpLocal6, wire.TCPFlagSYN, nil)
	seed(netip.MustParseAddrPort("[2001:db8:5::1]:81"), wire.TCPFlagSYN, nil)
	seed(tcpLocal6, wire.TCPFlagACK, nil)
	seed(tcpLocal6, wire.TCPFlagSYN, func(d []byte, m *pkt.Meta) { d[m.L4+5] ^= 1 })
	f.Add([]byte{0x60, 0, 0, 0, 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > pkt.DataCap-wire.EthernetLen {
			return
		}
		c := r.Caches[0]
		i, _ := c.Alloc()
		d, _ := r.Arena.SetData(i, pkt.Headroom, wire.EthernetLen+len(b))
		copy(d[wire.EthernetLen:], b)
		m := r.Arena.Meta(i)
		m.L3 = wire.EthernetLen
		m.L4 = wire.EthernetLen + wire.IPv6Len
		valid := false
		if len(b) >= wire.IPv6Len {
			ip := wire.IPv6(b)
			end := wire.IPv6Len + int(ip.PayloadLen())
			valid = end <= len(b) && wire.IPv6Len+wire.TCPMinLen <= end &&
				wire.TCP(b[wire.IPv6Len:end]).ChecksumValid6(ip.Src(), ip.Dst(), uint16(end-wire.IPv6Len))
		}
		r.DeliverTo(0, tcpnode.Input6Name, i)
		out := r.TakeLookup()
		if !valid && len(out) != 0 {
			t.Fatalf("invalid segment answered with %d packets", len(out))
		}
		for _, o := range out {
			ip := wire.IPv6(b)
			seg := wire.TCP(b[wire.IPv6Len:])
			checkTCPOut6(t, o, netip.AddrPortFrom(netip.AddrFrom16(ip.Dst()), seg.DstPort()), netip.AddrPortFrom(netip.AddrFrom16(ip.Src()), seg.SrcPort()))
		}
	})
}
