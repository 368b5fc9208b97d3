package offload

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

var (
	src6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
	dst6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
)

// superFrame6 is an Ethernet/IPv6/TCP super-frame with a partial checksum,
// as a kernel peer with TSO on hands a veth.
func superFrame6(payload int, flags uint8, opts int) []byte {
	thl := wire.TCPMinLen + opts
	f := make([]byte, 14+40+thl+payload)
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	wire.IPv6(f[14:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(thl + payload), NextHeader: wire.IPProtoTCP, HopLimit: 64, Src: src6, Dst: dst6})
	l4 := f[54:]
	binary.BigEndian.PutUint16(l4[0:], 40000)
	binary.BigEndian.PutUint16(l4[2:], 80)
	binary.BigEndian.PutUint32(l4[4:], 0xfffff000)
	binary.BigEndian.PutUint32(l4[8:], 77)
	l4[12] = byte(thl/4) << 4
	l4[13] = flags
	for k := range opts {
		l4[20+k] = 1
	}
	for k := range payload {
		l4[thl+k] = byte(k*31 + k>>8)
	}
	binary.BigEndian.PutUint16(l4[16:], uint16(wire.PseudoHeaderSum6(src6, dst6, wire.IPProtoTCP, uint32(len(l4)))))
	return f
}

// TestSegmentTCP6: an IPv6 TCP super-frame without a segment size (AF_XDP)
// is cut at the MTU less its own headers; the segments' payloads join back
// into the original, each with its payload length, sequence number, flags
// and a full checksum over the IPv6 pseudo-header; the GSO_TCPV6 path does
// the same at the header's size.
func TestSegmentTCP6(t *testing.T) {
	pool, c := newCache(t, 512)
	const payload, opts = 20000 + 7, 12
	big := superFrame6(payload, tcpPSH|tcpFIN|tcpCWR|0x10, opts)
	var v pkt.Vector
	n, e := SegmentMTU(c, &v, big, 1500)
	mss := 1500 - 40 - 20 - opts
	if e != OK || n != (payload+mss-1)/mss {
		t.Fatalf("SegmentMTU = %d, %v, want %d segments", n, e, (payload+mss-1)/mss)
	}
	a := c.Arena()
	var joined []byte
	for k, i := range v.Slice() {
		d := a.Data(i)
		if len(d) > 14+1500 || a.Meta(i).Flags&pkt.FlagL4ChecksumOK == 0 {
			t.Fatalf("segment %d: %d bytes, flags %#x", k, len(d), a.Meta(i).Flags)
		}
		ip := wire.IPv6(d[14:])
		seg := wire.TCP(ip.Payload())
		if int(ip.PayloadLen()) != len(seg) || !seg.ChecksumValid6(src6, dst6, uint16(len(seg))) {
			t.Fatalf("segment %d: payload length %d of %d, checksum bad", k, ip.PayloadLen(), len(seg))
		}
		if seg.Seq() != 0xfffff000+uint32(k*mss) {
			t.Fatalf("segment %d: seq %#x", k, seg.Seq())
		}
		wantFlags := uint8(0x10)
		if k == 0 {
			wantFlags |= tcpCWR
		}
		if k == n-1 {
			wantFlags |= tcpPSH | tcpFIN
		}
		if seg.Flags() != wantFlags {
			t.Fatalf("segment %d: flags %#x, want %#x", k, seg.Flags(), wantFlags)
		}
		joined = append(joined, seg.Payload()...)
	}
	if !bytes.Equal(joined, big[14+40+20+opts:]) {
		t.Fatal("payloads do not join back into the super-frame's")
	}
	c.FreeN(v.Slice())
	v.Reset()

	if n, e := Receive(c, &v, VnetHdr{Flags: VnetNeedsCsum, GSOType: GSOTCPv6, GSOSize: 1000, CsumStart: 54, CsumOffset: 16}, big); e != OK || n != (payload+999)/1000 {
		t.Fatalf("Receive GSO_TCPV6 = %d, %v", n, e)
	}
	c.FreeN(v.Slice())
	v.Reset()
	// Extension headers, and type/family mismatches, are not segmented.
	ext := append([]byte(nil), big...)
	ext[14+6] = wire.IPProtoDestOpts
	for _, tc := range []struct {
		name string
		got  func() (int, Error)
		want Error
	}{
		{"extension header", func() (int, Error) { return SegmentMTU(c, &v, ext, 1500) }, ErrUnsupported},
		{"GSO_TCPV4 on IPv6", func() (int, Error) { return Receive(c, &v, VnetHdr{GSOType: GSOTCPv4, GSOSize: 1000}, big) }, ErrUnsupported},
		{"truncated", func() (int, Error) { return SegmentMTU(c, &v, big[:60], 1500) }, ErrTruncated},
		{"payload length past the frame", func() (int, Error) {
			b := append([]byte(nil), big...)
			binary.BigEndian.PutUint16(b[18:], 0xffff)
			return SegmentMTU(c, &v, b, 1500)
		}, ErrTruncated},
	} {
		if n, e := tc.got(); n != 0 || e != tc.want {
			t.Errorf("%s: %d, %v, want %v", tc.name, n, e, tc.want)
		}
	}
	c.Flush()
	if pool.InUse() != 0 {
		t.Errorf("InUse %d", pool.InUse())
	}
}
