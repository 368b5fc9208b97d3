package offload

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

// TestMain is the buffer-leak gate.
func TestMain(m *testing.M) { pkttest.Main(m) }

// newCache returns a cache over a fresh arena of n slots, closed with the test.
func newCache(t testing.TB, n int) (*pkt.Pool, *pkt.Cache) {
	t.Helper()
	a, err := pkt.NewArena(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	p := pkt.NewPool(a)
	return p, p.NewCache()
}

var (
	srcIP = [4]byte{10, 1, 0, 1}
	dstIP = [4]byte{10, 2, 0, 1}
)

// superFrame builds an Ethernet/IPv4 frame carrying proto with payload bytes
// of payload, as a TSO/GSO sender hands it over: total length of the whole,
// L4 checksum partial (the pseudo-header sum over the whole length). vlan
// adds an 802.1Q tag; opts TCP option bytes (a multiple of 4).
func superFrame(proto uint8, payload int, flags uint8, vlan bool, opts int) []byte {
	l3 := 14
	if vlan {
		l3 = 18
	}
	l4Len := wire.UDPLen
	if proto == wire.IPProtoTCP {
		l4Len = wire.TCPMinLen + opts
	}
	f := make([]byte, l3+20+l4Len+payload)
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 1})
	if vlan {
		binary.BigEndian.PutUint16(f[12:], 0x8100)
		binary.BigEndian.PutUint16(f[14:], 7)
	}
	binary.BigEndian.PutUint16(f[l3-2:], 0x0800)
	ip := f[l3:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	binary.BigEndian.PutUint16(ip[4:], 0xfff0) // wraps during segmentation
	ip[6] = 0x40                               // DF
	ip[8], ip[9] = 64, proto
	copy(ip[12:], srcIP[:])
	copy(ip[16:], dstIP[:])
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip[:20], 0))
	l4 := ip[20:]
	binary.BigEndian.PutUint16(l4[0:], 40000)
	binary.BigEndian.PutUint16(l4[2:], 5201)
	length := uint16(len(l4))
	csumOff := 6
	if proto == wire.IPProtoTCP {
		binary.BigEndian.PutUint32(l4[4:], 0xfffff000) // wraps during segmentation
		binary.BigEndian.PutUint32(l4[8:], 77)
		l4[12] = byte(l4Len/4) << 4
		l4[13] = flags
		binary.BigEndian.PutUint16(l4[14:], 502)
		for k := range opts {
			l4[20+k] = 1 // NOP
		}
		csumOff = 16
	} else {
		binary.BigEndian.PutUint16(l4[4:], length)
	}
	for k := range payload {
		l4[l4Len+k] = byte(k*31 + k>>8)
	}
	// Partial checksum: the folded pseudo-header sum, not inverted.
	binary.BigEndian.PutUint16(l4[csumOff:], uint16(wire.PseudoHeaderSum(srcIP, dstIP, proto, length)))
	return f
}

func TestSegmentTCP(t *testing.T) {
	const (
		fin, syn, psh, ack, cwr = 0x01, 0x02, 0x08, 0x10, 0x80
	)
	for _, tc := range []struct {
		name    string
		payload int
		mss     int
		vlan    bool
		opts    int
		flags   uint8
		want    int
	}{
		{"64KiB at 1448", 65000, 1448, false, 12, ack | psh, 45},
		{"exact multiple", 4 * 1000, 1000, false, 0, ack | psh | fin | cwr, 4},
		{"one short of a multiple", 3*1000 - 1, 1000, true, 0, ack | fin, 3},
		{"fits one segment", 500, 1448, false, 0, ack | psh | cwr, 1},
		{"no payload", 0, 1448, false, 0, syn | ack, 1},
		{"segment fills a slot", 3 * (pkt.DataCap - 54), pkt.DataCap - 54, false, 0, ack, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, c := newCache(t, 256)
			f := superFrame(wire.IPProtoTCP, tc.payload, tc.flags, tc.vlan, tc.opts)
			l3 := 14
			if tc.vlan {
				l3 = 18
			}
			hl := l3 + 20 + 20 + tc.opts
			var v pkt.Vector
			n, e := Segment(c, &v, f, KindTCP, tc.mss)
			if e != OK || n != tc.want || v.Len != n {
				t.Fatalf("Segment = %d, %v (v.Len %d), want %d segments", n, e, v.Len, tc.want)
			}
			a := c.Arena()
			var stream []byte
			for k, i := range v.Slice() {
				m, d := a.Packet(i)
				if m.Off != pkt.Headroom || m.Flags&pkt.FlagL4ChecksumOK == 0 {
					t.Errorf("seg %d: Off %d Flags %#x", k, m.Off, m.Flags)
				}
				if !bytes.Equal(d[:l3], f[:l3]) {
					t.Errorf("seg %d: Ethernet header differs", k)
				}
				ip, ipErr := wire.ParseIPv4(d[l3:])
				if ipErr != 0 || !ip.ChecksumValid() || int(ip.TotalLen()) != len(d)-l3 {
					t.Fatalf("seg %d: bad IPv4 header (%v), len %d", k, ipErr, len(d))
				}
				if ip.ID() != 0xfff0+uint16(k) {
					t.Errorf("seg %d: IP ID %#x", k, ip.ID())
				}
				th := wire.TCP(d[l3+20:])
				if !th.ChecksumValid(srcIP, dstIP, uint16(len(d)-l3-20)) {
					t.Errorf("seg %d: TCP checksum invalid", k)
				}
				if th.Seq() != 0xfffff000+uint32(k*tc.mss) {
					t.Errorf("seg %d: seq %#x", k, th.Seq())
				}
				wantFlags := tc.flags
				if k != n-1 {
					wantFlags &^= fin | psh
				}
				if k != 0 {
					wantFlags &^= cwr
				}
				if th.Flags() != wantFlags {
					t.Errorf("seg %d: flags %#x, want %#x", k, th.Flags(), wantFlags)
				}
				if !bytes.Equal(d[l3+20+20:hl], f[l3+20+20:hl]) || th.Ack() != 77 || th.Window() != 502 {
					t.Errorf("seg %d: TCP options/ack/window differ", k)
				}
				if k != n-1 && len(d)-hl != tc.mss {
					t.Errorf("seg %d: %d payload bytes, want %d", k, len(d)-hl, tc.mss)
				}
				stream = append(stream, d[hl:]...)
			}
			if !bytes.Equal(stream, f[hl:]) {
				t.Errorf("segments carry %d payload bytes that differ from the %d sent", len(stream), len(f)-hl)
			}
			c.FreeN(v.Slice())
			c.Flush()
			if pool.InUse() != 0 {
				t.Errorf("InUse %d", pool.InUse())
			}
		})
	}
}

func TestSegmentUDP(t *testing.T) {
	_, c := newCache(t, 64)
	f := superFrame(wire.IPProtoUDP, 10*1200+5, 0, false, 0)
	var v pkt.Vector
	n, e := Segment(c, &v, f, KindUDP, 1200)
	if e != OK || n != 11 {
		t.Fatalf("Segment = %d, %v", n, e)
	}
	a := c.Arena()
	var stream []byte
	for k, i := range v.Slice() {
		d := a.Data(i)
		ip, _ := wire.ParseIPv4(d[14:])
		u := wire.UDP(d[34:])
		if !ip.ChecksumValid() || int(u.Length()) != len(d)-34 || !u.ChecksumValid(srcIP, dstIP) {
			t.Errorf("datagram %d: bad headers (udp len %d of %d)", k, u.Length(), len(d)-34)
		}
		stream = append(stream, d[42:]...)
	}
	if !bytes.Equal(stream, f[42:]) {
		t.Error("payload differs")
	}
	c.FreeN(v.Slice())
}

func TestSegmentErrors(t *testing.T) {
	good := superFrame(wire.IPProtoTCP, 5000, 0x10, false, 0)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name  string
		frame []byte
		kind  Kind
		mss   int
		room  int
		want  Error
	}{
		{"runt", good[:10], KindTCP, 1000, 256, ErrTruncated},
		{"ARP", mod(func(b []byte) []byte { b[12], b[13] = 8, 6; return b }), KindTCP, 1000, 256, ErrNotIPv4},
		{"IPv6 version", mod(func(b []byte) []byte { b[14] = 0x65; return b }), KindTCP, 1000, 256, ErrNotIPv4},
		{"IHL 4", mod(func(b []byte) []byte { b[14] = 0x44; return b }), KindTCP, 1000, 256, ErrNotIPv4},
		{"fragment", mod(func(b []byte) []byte { b[20] = 0x20; return b }), KindTCP, 1000, 256, ErrUnsupported},
		{"UDP as TCP", mod(func(b []byte) []byte { b[23] = wire.IPProtoUDP; return b }), KindTCP, 1000, 256, ErrUnsupported},
		{"total length past end", good[:1000], KindTCP, 1000, 256, ErrTruncated},
		{"TCP offset 4", mod(func(b []byte) []byte { b[46] = 0x40; return b }), KindTCP, 1000, 256, ErrTruncated},
		{"TCP header past IP", mod(func(b []byte) []byte { binary.BigEndian.PutUint16(b[16:], 30); return b }), KindTCP, 1000, 256, ErrTruncated},
		{"mss 0", good, KindTCP, 0, 256, ErrSegmentSize},
		{"mss over a slot", good, KindTCP, pkt.DataCap, 256, ErrSegmentSize},
		{"vector too full", good, KindTCP, 1000, 4, ErrNoRoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, c := newCache(t, 64)
			var v pkt.Vector
			v.Len = pkt.VectorSize - tc.room
			n, e := Segment(c, &v, tc.frame, tc.kind, tc.mss)
			if e != tc.want || n != 0 || v.Len != pkt.VectorSize-tc.room {
				t.Errorf("Segment = %d, %v (v.Len %d), want 0, %v", n, e, v.Len, tc.want)
			}
			c.Flush()
			if pool.InUse() != 0 {
				t.Errorf("InUse %d after an error", pool.InUse())
			}
		})
	}
}

func TestSegmentPoolDry(t *testing.T) {
	pool, c := newCache(t, 3) // 5 segments needed
	var v pkt.Vector
	if n, e := Segment(c, &v, superFrame(wire.IPProtoTCP, 5000, 0x10, false, 0), KindTCP, 1000); e != ErrNoBuffer || n != 0 || v.Len != 0 {
		t.Fatalf("Segment = %d, %v (v.Len %d), want ErrNoBuffer", n, e, v.Len)
	}
	c.Flush()
	if pool.InUse() != 0 {
		t.Errorf("InUse %d", pool.InUse())
	}
}

func TestComplete(t *testing.T) {
	for _, proto := range []uint8{wire.IPProtoTCP, wire.IPProtoUDP} {
		f := superFrame(proto, 333, 0x18, false, 0)
		off := 6
		if proto == wire.IPProtoTCP {
			off = 16
		}
		if e := Complete(f, 34, off); e != OK {
			t.Fatal(e)
		}
		n := uint16(len(f) - 34)
		if Sum := wire.Sum(f[34:], wire.PseudoHeaderSum(srcIP, dstIP, proto, n)); Sum != 0xffff {
			t.Errorf("proto %d: checksum does not verify (sum %#x)", proto, Sum)
		}
	}
	f := make([]byte, 60)
	for _, bad := range [][2]int{{-1, 0}, {0, -1}, {59, 0}, {58, 1}, {61, 0}, {0, 59}} {
		if e := Complete(f, bad[0], bad[1]); e != ErrTruncated {
			t.Errorf("Complete(start %d, off %d) = %v, want ErrTruncated", bad[0], bad[1], e)
		}
	}
}

func TestReceive(t *testing.T) {
	pool, c := newCache(t, 64)
	a := c.Arena()
	var v pkt.Vector
	// NEEDS_CSUM: completed and flagged.
	f := superFrame(wire.IPProtoTCP, 100, 0x18, false, 0)
	if n, e := Receive(c, &v, VnetHdr{Flags: VnetNeedsCsum, CsumStart: 34, CsumOffset: 16}, f); n != 1 || e != OK {
		t.Fatalf("Receive NEEDS_CSUM = %d, %v", n, e)
	}
	m, d := a.Packet(v.Idx[0])
	if !wire.TCP(d[34:]).ChecksumValid(srcIP, dstIP, uint16(len(d)-34)) || m.Flags&pkt.FlagL4ChecksumOK == 0 {
		t.Error("NEEDS_CSUM frame not completed")
	}
	// DATA_VALID: copied as is, flagged. No flag: copied, not flagged.
	Receive(c, &v, VnetHdr{Flags: VnetDataValid}, f)
	Receive(c, &v, VnetHdr{}, f)
	if v.Len != 3 || a.Meta(v.Idx[1]).Flags&pkt.FlagL4ChecksumOK == 0 || a.Meta(v.Idx[2]).Flags&pkt.FlagL4ChecksumOK != 0 ||
		!bytes.Equal(a.Data(v.Idx[2]), f) {
		t.Error("DATA_VALID / plain frames wrong")
	}
	// GSO TCPv4 with ECN bit: segmented.
	big := superFrame(wire.IPProtoTCP, 3000, 0x10, false, 0)
	if n, e := Receive(c, &v, VnetHdr{Flags: VnetNeedsCsum, GSOType: GSOTCPv4 | GSOECN, GSOSize: 1448, HdrLen: 54, CsumStart: 34, CsumOffset: 16}, big); n != 3 || e != OK {
		t.Errorf("Receive GSO = %d, %v", n, e)
	}
	for _, tc := range []struct {
		h    VnetHdr
		f    []byte
		want Error
	}{
		{VnetHdr{GSOType: GSOTCPv6, GSOSize: 1400}, big, ErrUnsupported},
		{VnetHdr{GSOType: GSOUDP, GSOSize: 1400}, big, ErrUnsupported},
		{VnetHdr{}, make([]byte, pkt.DataCap+1), ErrTooLong},
		{VnetHdr{Flags: VnetNeedsCsum, CsumStart: 34, CsumOffset: 200}, f, ErrTruncated},
	} {
		if n, e := Receive(c, &v, tc.h, tc.f); n != 0 || e != tc.want {
			t.Errorf("Receive(%+v) = %d, %v, want %v", tc.h, n, e, tc.want)
		}
	}
	c.FreeN(v.Slice())
	c.Flush()
	if pool.InUse() != 0 {
		t.Errorf("InUse %d", pool.InUse())
	}
}

func TestVnetHdrRoundTrip(t *testing.T) {
	h := VnetHdr{Flags: 1, GSOType: 5, HdrLen: 54, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	var b [VnetHdrLen]byte
	h.Put(b[:])
	if g, ok := ParseVnetHdr(b[:]); !ok || g != h {
		t.Errorf("round trip %+v -> %+v", h, g)
	}
	if _, ok := ParseVnetHdr(b[:9]); ok {
		t.Error("short header parsed")
	}
}

func TestSegmentAllocs(t *testing.T) {
	_, c := newCache(t, 256)
	f := superFrame(wire.IPProtoTCP, 65000, 0x18, false, 12)
	var v pkt.Vector
	h := VnetHdr{Flags: VnetNeedsCsum, GSOType: GSOTCPv4, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	allocs := testing.AllocsPerRun(100, func() {
		Receive(c, &v, h, f)
		c.FreeN(v.Slice())
		v.Reset()
	})
	if allocs != 0 {
		t.Errorf("Receive of a 64 KiB super-frame: %v allocations, want 0", allocs)
	}
}

func BenchmarkSegment64K(b *testing.B) {
	_, c := newCache(b, 256)
	f := superFrame(wire.IPProtoTCP, 65000, 0x18, false, 12)
	var v pkt.Vector
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		Segment(c, &v, f, KindTCP, 1448)
		c.FreeN(v.Slice())
		v.Reset()
	}
}
