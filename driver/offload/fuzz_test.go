package offload

import (
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// FuzzReceive feeds any vnet header and frame bytes to Receive: it must not
// panic, must either deliver frames that fit a slot (segments with valid IP
// and L4 checksums) or return an Error with v untouched, and must leave
// every buffer accounted for.
func FuzzReceive(f *testing.F) {
	hdr := func(h VnetHdr) []byte {
		var b [VnetHdrLen]byte
		h.Put(b[:])
		return b[:]
	}
	tcp := superFrame(wire.IPProtoTCP, 5000, 0x19, false, 12)
	udp := superFrame(wire.IPProtoUDP, 3000, 0, true, 0)
	f.Add(hdr(VnetHdr{Flags: VnetNeedsCsum, GSOType: GSOTCPv4, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}), tcp)
	f.Add(hdr(VnetHdr{Flags: VnetNeedsCsum, GSOType: GSOUDPL4, GSOSize: 1000, CsumStart: 38, CsumOffset: 6}), udp)
	f.Add(hdr(VnetHdr{Flags: VnetNeedsCsum, CsumStart: 34, CsumOffset: 16}), tcp[:200])
	f.Add(hdr(VnetHdr{Flags: VnetDataValid}), tcp[:60])
	f.Add(hdr(VnetHdr{GSOType: GSOTCPv4, GSOSize: 1}), tcp[:70])
	f.Add(hdr(VnetHdr{GSOType: GSOTCPv4 | GSOECN, GSOSize: 0xffff}), tcp)
	f.Add([]byte{}, []byte{})
	a, err := pkt.NewArena(2 * MaxSegments)
	if err != nil {
		f.Fatal(err)
	}
	defer a.Close()
	pool := pkt.NewPool(a)
	c := pool.NewCache()
	f.Fuzz(func(t *testing.T, hb, frame []byte) {
		h, _ := ParseVnetHdr(hb)
		var v pkt.Vector
		v.Len = 3 // some room taken
		n, e := Receive(c, &v, h, frame)
		if e != OK {
			if n != 0 || v.Len != 3 {
				t.Fatalf("error %v with %d frames delivered (v.Len %d)", e, n, v.Len)
			}
		} else if n < 1 || v.Len != 3+n {
			t.Fatalf("OK with n %d, v.Len %d", n, v.Len)
		}
		segmented := h.GSOType&^GSOECN != GSONone
		for _, i := range v.Idx[3:v.Len] {
			m, d := a.Packet(i)
			if len(d) > pkt.DataCap || m.Off != pkt.Headroom {
				t.Fatalf("frame of %d bytes at %d", len(d), m.Off)
			}
			if !segmented {
				continue
			}
			l3, _ := l3Offset(d)
			ip, ipErr := wire.ParseIPv4(d[l3:])
			if ipErr != 0 || !ip.ChecksumValid() {
				t.Fatalf("segment with a bad IPv4 header (%v)", ipErr)
			}
			l4 := d[l3+ip.HeaderLen() : l3+int(ip.TotalLen())]
			if wire.Sum(l4, wire.PseudoHeaderSum(ip.Src(), ip.Dst(), ip.Protocol(), uint16(len(l4)))) != 0xffff {
				t.Fatal("segment with a bad L4 checksum")
			}
		}
		c.FreeN(v.Idx[3:v.Len])
		c.Flush()
		if pool.InUse() != 0 {
			t.Fatalf("%d buffers in use after the call", pool.InUse())
		}
		if err := pool.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSegmentMTU feeds any frame and MTU to SegmentMTU, the AF_XDP path
// (no metadata): no panic; segments that fit the MTU with valid IPv4 and
// TCP checksums, or an Error with v untouched; every buffer accounted for.
func FuzzSegmentMTU(f *testing.F) {
	f.Add(superFrame(wire.IPProtoTCP, 20000, 0x19, false, 12), uint16(1500))
	f.Add(superFrame(wire.IPProtoTCP, 3000, 0x10, true, 0), uint16(576))
	f.Add(superFrame(wire.IPProtoUDP, 3000, 0, false, 0), uint16(1500))
	f.Add(superFrame(wire.IPProtoTCP, 100, 0x10, false, 40), uint16(60))
	f.Add(superFrame6(20000, 0x19, 12), uint16(1500))
	f.Add(superFrame6(3000, 0x10, 0), uint16(1280))
	a, err := pkt.NewArena(2 * MaxSegments)
	if err != nil {
		f.Fatal(err)
	}
	defer a.Close()
	pool := pkt.NewPool(a)
	c := pool.NewCache()
	f.Fuzz(func(t *testing.T, frame []byte, mtu uint16) {
		var v pkt.Vector
		n, e := SegmentMTU(c, &v, frame, int(mtu))
		if (e != OK) != (n == 0) || v.Len != n {
			t.Fatalf("SegmentMTU = %d, %v with v.Len %d", n, e, v.Len)
		}
		for _, i := range v.Slice() {
			d := a.Data(i)
			l3, et, _ := etherL3(d)
			if et == 0x86dd {
				ip := wire.IPv6(d[l3:])
				l4 := d[l3+wire.IPv6Len : l3+wire.IPv6Len+int(ip.PayloadLen())]
				if wire.IPv6Len+len(l4) > int(mtu) || !wire.TCP(l4).ChecksumValid6(ip.Src(), ip.Dst(), uint16(len(l4))) {
					t.Fatalf("IPv6 segment over the MTU (%d > %d) or with a bad TCP checksum", wire.IPv6Len+len(l4), mtu)
				}
				continue
			}
			ip, ipErr := wire.ParseIPv4(d[l3:])
			if ipErr != 0 || !ip.ChecksumValid() || int(ip.TotalLen()) > int(mtu) {
				t.Fatalf("segment with a bad IPv4 header (%v) or over the MTU (%d > %d)", ipErr, ip.TotalLen(), mtu)
			}
			l4 := d[l3+ip.HeaderLen() : l3+int(ip.TotalLen())]
			if wire.Sum(l4, wire.PseudoHeaderSum(ip.Src(), ip.Dst(), ip.Protocol(), uint16(len(l4)))) != 0xffff {
				t.Fatal("segment with a bad TCP checksum")
			}
		}
		c.FreeN(v.Slice())
		c.Flush()
		if pool.InUse() != 0 {
			t.Fatalf("%d buffers in use after the call", pool.InUse())
		}
	})
}
