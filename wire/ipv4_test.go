package wire

import (
	"math/rand/v2"
	"testing"
)

// Wikipedia "IPv4 header checksum" example header (UDP, 115 bytes total).
const wikiIPv4 = "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7"

func TestParseIPv4Errors(t *testing.T) {
	good := func() []byte {
		b := make([]byte, 40)
		IPv4(b).Encode(&IPv4Fields{TotalLen: 40, TTL: 64, Protocol: IPProtoUDP})
		return b
	}
	tests := []struct {
		name    string
		mutate  func([]byte) []byte
		want    IPv4Error
		wantLen int
	}{
		{"ok", func(b []byte) []byte { return b }, IPv4OK, 40},
		{"ok with padding", func(b []byte) []byte { return append(b, 0, 0, 0, 0, 0, 0) }, IPv4OK, 40},
		{"ok with options", func(b []byte) []byte { b[0] = 0x46; return b }, IPv4OK, 40},
		{"ok header only", func(b []byte) []byte { b[3] = 20; return b }, IPv4OK, 20},
		{"too short", func(b []byte) []byte { return b[:19] }, IPv4TooShort, 0},
		{"empty", func(b []byte) []byte { return nil }, IPv4TooShort, 0},
		{"version 6", func(b []byte) []byte { b[0] = 0x65; return b }, IPv4BadVersion, 0},
		{"version 0", func(b []byte) []byte { b[0] = 0x05; return b }, IPv4BadVersion, 0},
		{"ihl 4", func(b []byte) []byte { b[0] = 0x44; return b }, IPv4BadIHL, 0},
		{"ihl 0", func(b []byte) []byte { b[0] = 0x40; return b }, IPv4BadIHL, 0},
		{"ihl beyond buffer", func(b []byte) []byte { b[0] = 0x4f; return b[:40] }, IPv4BadIHL, 0},
		{"total below header", func(b []byte) []byte { b[0] = 0x46; b[3] = 20; return b }, IPv4BadLength, 0},
		{"total zero", func(b []byte) []byte { b[3] = 0; return b }, IPv4BadLength, 0},
		{"total beyond buffer", func(b []byte) []byte { return b[:39] }, IPv4BadLength, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip, e := ParseIPv4(tt.mutate(good()))
			if e != tt.want {
				t.Fatalf("ParseIPv4 error = %v, want %v", e, tt.want)
			}
			if len(ip) != tt.wantLen {
				t.Errorf("len(view) = %d, want %d", len(ip), tt.wantLen)
			}
			if e.String() == "" || e.String() == IPv4Error(99).String() {
				t.Errorf("String() = %q", e.String())
			}
		})
	}
}

func TestIPv4Golden(t *testing.T) {
	b := unhex(t, wikiIPv4)
	ip := IPv4(b) // header only: TotalLen 115 is beyond the buffer
	if _, e := ParseIPv4(b); e != IPv4BadLength {
		t.Errorf("ParseIPv4 of a lone header = %v, want bad length", e)
	}
	if !ip.ChecksumValid() || ip.ComputeChecksum() != 0xb861 || ip.TotalLen() != 115 || ip.Protocol() != IPProtoUDP ||
		!ip.DontFragment() || ip.Src() != [4]byte{192, 168, 0, 1} || ip.Dst() != [4]byte{192, 168, 0, 199} || ip.Version() != 4 ||
		ip.SrcBits() != 0xc0a80001 || ip.DstBits() != 0xc0a800c7 {
		t.Fatalf("decode wrong")
	}
	if got := len(ip.Payload()); got != 0 {
		t.Errorf("Payload clamped to the view: len %d, want 0", got)
	}
}

func TestIPv4Fragments(t *testing.T) {
	tests := []struct {
		name          string
		flags         uint8
		off           uint16
		df, mf, frag  bool
		wantFlagsByte byte
	}{
		{"none", 0, 0, false, false, false, 0x00},
		{"df", IPv4FlagDF, 0, true, false, false, 0x40},
		{"first fragment", IPv4FlagMF, 0, false, true, true, 0x20},
		{"middle fragment", IPv4FlagMF, 185, false, true, true, 0x20},
		{"last fragment", 0, 370, false, false, true, 0x01},
		{"max offset", 0, 0x1fff, false, false, true, 0x1f},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := IPv4(make([]byte, IPv4MinLen))
			ip.Encode(&IPv4Fields{TotalLen: 20, Flags: tt.flags, FragOffset: tt.off, TTL: 1})
			if ip[6] != tt.wantFlagsByte {
				t.Errorf("byte 6 = %#02x, want %#02x", ip[6], tt.wantFlagsByte)
			}
			if ip.Flags() != tt.flags || ip.FragOffset() != tt.off || ip.DontFragment() != tt.df || ip.MoreFragments() != tt.mf || ip.IsFragment() != tt.frag {
				t.Errorf("flags %d off %d df %v mf %v frag %v", ip.Flags(), ip.FragOffset(), ip.DontFragment(), ip.MoreFragments(), ip.IsFragment())
			}
			if !ip.ChecksumValid() {
				t.Error("Encode left an invalid checksum")
			}
		})
	}
}

func TestIPv4OptionsAndPayload(t *testing.T) {
	b := make([]byte, 32)
	ip := IPv4(b)
	ip.Encode(&IPv4Fields{TotalLen: 30, TTL: 9, Protocol: IPProtoICMP})
	b[0] = 0x46 // one option word
	copy(b[20:24], []byte{0x94, 0x04, 0, 0})
	ip.SetChecksum(ip.ComputeChecksum())
	p, e := ParseIPv4(b)
	if e != IPv4OK || len(p) != 30 || p.HeaderLen() != 24 || len(p.Options()) != 4 || p.Options()[0] != 0x94 || len(p.Payload()) != 6 || !p.ChecksumValid() {
		t.Fatalf("e %v len %d hl %d opts % x payload %d", e, len(p), p.HeaderLen(), p.Options(), len(p.Payload()))
	}
	p.SetTotalLen(100) // Payload clamps to the view
	if len(p.Payload()) != 6 {
		t.Errorf("Payload not clamped: %d", len(p.Payload()))
	}
}

// TestDecTTLProperty: DecTTL keeps a valid checksum valid and equals a
// full recompute, for random headers of every IHL and every TTL.
func TestDecTTLProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	h := make([]byte, 60)
	for n := range 50000 {
		for i := range h {
			h[i] = byte(r.Uint32())
		}
		h[0] = 0x40 | byte(5+r.IntN(11))
		ip := IPv4(h)
		ip.SetTTL(uint8(n)) // covers 0 (wraps) and 1..255
		ip.SetChecksum(ip.ComputeChecksum())
		ip.DecTTL()
		if ip.TTL() != uint8(n)-1 {
			t.Fatalf("TTL %d after DecTTL from %d", ip.TTL(), uint8(n))
		}
		if !ip.ChecksumValid() || ip.Checksum() != ip.ComputeChecksum() {
			t.Fatalf("after DecTTL: checksum %#04x, recomputed %#04x, header % x", ip.Checksum(), ip.ComputeChecksum(), h[:ip.HeaderLen()])
		}
	}
}

func TestComputeChecksumIgnoresField(t *testing.T) {
	ip := IPv4(unhex(t, wikiIPv4))
	ip.SetChecksum(0x1234)
	if got := ip.ComputeChecksum(); got != 0xb861 {
		t.Errorf("ComputeChecksum with a stale field = %#04x, want 0xb861", got)
	}
	ic := ICMPv4(unhex(t, "0800 ffff 04d2 0001"))
	ic2 := ICMPv4(unhex(t, "0800 0000 04d2 0001"))
	if ic.ComputeChecksum() != ic2.ComputeChecksum() {
		t.Error("ICMP ComputeChecksum depends on the checksum field")
	}
}
