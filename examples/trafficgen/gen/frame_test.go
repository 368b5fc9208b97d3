package gen

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

func testSpec(size, flows int) FrameSpec {
	return FrameSpec{
		SrcMAC: wire.MAC{2, 0, 0, 0, 0, 1}, DstMAC: wire.MAC{2, 0, 0, 0, 0, 2},
		Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.MustParseAddr("10.2.0.1"),
		Size: size, Flows: flows,
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name        string
		size, flows int
		flow        int
		seq         uint64
		wantSrcPort uint16
	}{
		{name: "64 bytes", size: 64, flows: 1, seq: 1, wantSrcPort: 10000},
		{name: "odd size", size: 65, flows: 1, seq: 0xffff_ffff_ffff_ffff, wantSrcPort: 10000},
		{name: "flow 3 of 4", size: 128, flows: 4, flow: 7, seq: 42, wantSrcPort: 10003},
		{name: "full size", size: 1518, flows: 1, wantSrcPort: 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSpec(tt.size, tt.flows)
			b := make([]byte, 2048)
			n, err := Build(b, &s, tt.flow, tt.seq)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.size-4 {
				t.Fatalf("length: want %d, got %d", tt.size-4, n)
			}
			f := b[:n]
			if !Valid(f) {
				t.Fatal("built frame does not verify")
			}
			seq, ok := Parse(f)
			if !ok || seq != tt.seq {
				t.Fatalf("Parse: want %d true, got %d %v", tt.seq, seq, ok)
			}
			ip, _ := wire.ParseIPv4(wire.Ethernet(f).Payload())
			u, _ := wire.ParseUDP(ip.Payload())
			if u.SrcPort() != tt.wantSrcPort || ip.Dst() != s.Dst.As4() || wire.Ethernet(f).Dst() != s.DstMAC {
				t.Fatalf("fields: src port %d dst %v mac %v", u.SrcPort(), ip.Dst(), wire.Ethernet(f).Dst())
			}
			// Sequence rewrites keep the checksum valid and agree with a
			// frame built from scratch.
			for _, next := range []uint64{0, 1, 0xfffe, 1 << 40, tt.seq + 1, 0xffff_ffff_ffff_ffff} {
				SetSeq(f, next)
				if !Valid(f) {
					t.Fatalf("after SetSeq(%#x) the frame does not verify", next)
				}
				ref := make([]byte, 2048)
				Build(ref, &s, tt.flow, next)
				if got, want := binary.BigEndian.Uint16(f[udpCsumOff:]), binary.BigEndian.Uint16(ref[udpCsumOff:]); got != want && !(got^want == 0xffff && (got == 0 || want == 0)) {
					t.Fatalf("SetSeq(%#x) checksum %#x, from scratch %#x", next, got, want)
				}
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	for _, s := range []FrameSpec{testSpec(63, 1), testSpec(1519, 1), {Size: 64}} {
		if _, err := Build(make([]byte, 2048), &s, 0, 0); err == nil {
			t.Errorf("Build accepted %+v", s)
		}
	}
}

func TestParseRejects(t *testing.T) {
	s := testSpec(64, 1)
	b := make([]byte, 60)
	Build(b, &s, 0, 0)
	for i := 0; i < len(b); i++ {
		if _, ok := Parse(b[:i]); ok {
			t.Fatalf("Parse accepted a %d-byte prefix", i)
		}
	}
	b[magicOff] ^= 1
	if _, ok := Parse(b); ok {
		t.Fatal("Parse accepted a frame without the magic")
	}
}

func TestSetSeqNoAllocs(t *testing.T) {
	s := testSpec(64, 1)
	b := make([]byte, 60)
	Build(b, &s, 0, 0)
	var seq uint64
	if n := testing.AllocsPerRun(1000, func() { SetSeq(b, seq); seq++ }); n != 0 {
		t.Fatalf("SetSeq allocates %v times", n)
	}
}

func FuzzParse(f *testing.F) {
	s := testSpec(64, 1)
	b := make([]byte, 60)
	Build(b, &s, 0, 7)
	f.Add(b)
	f.Add([]byte{})
	f.Add(b[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, ok := Parse(b)
		if !ok {
			if Valid(b) {
				t.Fatal("Valid accepted what Parse rejects")
			}
			return
		}
		// A generator frame keeps its checksum validity under a sequence
		// rewrite, and the new number reads back.
		c := append([]byte(nil), b...)
		wasValid := Valid(c)
		SetSeq(c, seq+1)
		if got, _ := Parse(c); got != seq+1 {
			t.Fatalf("SetSeq(%d) reads back %d", seq+1, got)
		}
		if wasValid && !Valid(c) {
			t.Fatal("SetSeq broke a valid frame")
		}
	})
}
