package wire

import "testing"

func TestIPv4Emitter(t *testing.T) {
	var b [IPv4MinLen + 8]byte
	e := IPv4Emitter{Flags: IPv4FlagDF}
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	for want := uint16(1); want <= 3; want++ {
		rest := e.Emit(b[:], IPProtoTCP, src, dst, 8)
		ip, perr := ParseIPv4(b[:])
		if perr != IPv4OK || !ip.ChecksumValid() || len(rest) != 8 {
			t.Fatalf("emitted header: %v, checksum ok %v, %d bytes after it", perr, ip.ChecksumValid(), len(rest))
		}
		if ip.ID() != want || ip.TTL() != DefaultTTL || !ip.DontFragment() || ip.Protocol() != IPProtoTCP ||
			ip.Src() != src || ip.Dst() != dst || ip.TotalLen() != IPv4MinLen+8 || ip.HeaderLen() != IPv4MinLen {
			t.Errorf("header % x", b[:IPv4MinLen])
		}
	}
	e2 := IPv4Emitter{TTL: 1}
	e2.Emit(b[:], IPProtoUDP, src, dst, 8)
	if ip := IPv4(b[:]); ip.TTL() != 1 || ip.DontFragment() || ip.ID() != 1 {
		t.Errorf("TTL %d DF %v ID %d, want 1 false 1", ip.TTL(), ip.DontFragment(), ip.ID())
	}
	if n := testing.AllocsPerRun(100, func() { e.Emit(b[:], IPProtoUDP, src, dst, 8) }); n != 0 {
		t.Errorf("%v allocations per Emit", n)
	}
}
