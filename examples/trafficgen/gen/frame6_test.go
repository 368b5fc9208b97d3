package gen

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

// TestBuild6: IPv6 frames (82 bytes on the wire at least) verify, parse,
// and keep a valid checksum across SetSeq; mixed families and a frame too
// short for IPv6 are refused.
func TestBuild6(t *testing.T) {
	s := FrameSpec{SrcMAC: wire.MAC{2, 0, 0, 0, 0, 1}, DstMAC: wire.MAC{2, 0, 0, 0, 0, 2},
		Src: netip.MustParseAddr("2001:db8:1::2"), Dst: netip.MustParseAddr("2001:db8:2::2"), Flows: 4}
	b := make([]byte, 2048)
	n, err := Build(b, &s, 2, 77)
	if err != nil || n != MinFrameLen6 || s.Size != MinFrameLen6+4 {
		t.Fatalf("Build: %d bytes (size %d), %v", n, s.Size, err)
	}
	f := b[:n]
	ip := wire.IPv6(f[ipOff:])
	u, ok := udp6(f)
	if !ok || ip.Dst() != s.Dst.As16() || u.SrcPort() != 10002 || !Valid(f) {
		t.Fatalf("frame % x", f)
	}
	for _, seq := range []uint64{0, 1, 1 << 40, 0xffff_ffff_ffff_ffff} {
		SetSeq(f, seq)
		if got, ok := Parse(f); !ok || got != seq || !Valid(f) {
			t.Fatalf("SetSeq(%#x): Parse %d %v, Valid %v", seq, got, ok, Valid(f))
		}
	}
	for _, bad := range []FrameSpec{
		{Src: s.Src, Dst: netip.MustParseAddr("10.0.0.1")},
		{Src: s.Src, Dst: s.Dst, Size: 64},
	} {
		if _, err := Build(b, &bad, 0, 0); err == nil {
			t.Errorf("Build accepted %+v", bad)
		}
	}
	if a := testing.AllocsPerRun(100, func() { SetSeq(f, 9) }); a != 0 {
		t.Fatalf("SetSeq: %.1f allocs", a)
	}
}
