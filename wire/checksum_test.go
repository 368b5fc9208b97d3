package wire

import (
	"math/rand/v2"
	"testing"
)

func TestChecksumGolden(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		initial uint32
		want    uint16
	}{
		{"empty", "", 0, 0xffff},
		{"one byte", "01", 0, 0xfeff},
		{"two bytes", "0102", 0, 0xfefd},
		{"three bytes", "010203", 0, 0xfbfd},
		// RFC 1071 section 3 example: sum 0xddf2.
		{"rfc1071", "0001 f203 f4f5 f6f7", 0, ^uint16(0xddf2)},
		// IPv4 header from the Wikipedia "IPv4 header checksum" example,
		// checksum field zeroed: the checksum is 0xb861.
		{"ipv4 header", "4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7", 0, 0xb861},
		{"all ones", "ffff ffff ffff ffff ffff", 0, 0x0000},
		{"initial carried", "ffff", 1, 0xfffe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, tt.data)
			if got := Checksum(b, tt.initial); got != tt.want {
				t.Errorf("Checksum = %#04x, want %#04x", got, tt.want)
			}
			if got := refChecksum(b, tt.initial); got != tt.want {
				t.Errorf("reference = %#04x, want %#04x (bad golden value?)", got, tt.want)
			}
		})
	}
}

func TestSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200; n++ {
		b := make([]byte, n)
		for k := 0; k < 20; k++ {
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			if k == 0 {
				for i := range b {
					b[i] = 0xff // maximal carries
				}
			}
			init := r.Uint32()
			if got, want := Sum(b, init), refSum(b, init); got != want {
				t.Fatalf("len %d: Sum = %#x, want %#x", n, got, want)
			}
			// Summing in even-sized pieces gives the same result.
			cut := r.IntN(n+1) &^ 1
			if got, want := Sum(b[cut:], Sum(b[:cut], init)), refSum(b, init); got != want {
				t.Fatalf("len %d cut %d: chained Sum = %#x, want %#x", n, cut, got, want)
			}
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		var src, dst [4]byte
		for i := range 4 {
			src[i], dst[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		proto, n := uint8(r.Uint32()), uint16(r.Uint32())
		if got, want := PseudoHeaderSum(src, dst, proto, n), refPseudo(src, dst, proto, n); got != want {
			t.Fatalf("PseudoHeaderSum(%v,%v,%d,%d) = %#x, want %#x", src, dst, proto, n, got, want)
		}
	}
}

// TestChecksumUpdateProperty: after changing a 16-bit or 32-bit field of a
// random IPv4 header, the incremental update equals a full recompute.
func TestChecksumUpdateProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	h := make([]byte, 60)
	for range 20000 {
		for i := range h {
			h[i] = byte(r.Uint32())
		}
		h[0] = 0x40 | byte(5+r.IntN(11))
		ip := IPv4(h)
		ip.SetChecksum(ip.ComputeChecksum())
		old := ip.Checksum()
		switch r.IntN(4) {
		case 0: // TTL set directly
			ttlProto := uint16(ip.TTL())<<8 | uint16(ip.Protocol())
			ip.SetTTL(uint8(r.Uint32()))
			ip.SetChecksum(ChecksumUpdate16(old, ttlProto, uint16(ip.TTL())<<8|uint16(ip.Protocol())))
		case 1: // ID
			o := ip.ID()
			n := uint16(r.Uint32())
			h[4], h[5] = byte(n>>8), byte(n)
			ip.SetChecksum(ChecksumUpdate16(old, o, n))
		case 2: // source address (NAT)
			o := ip.Src()
			n := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
			ip.SetSrc(n)
			ip.SetChecksum(ChecksumUpdate32(old, o, n))
		case 3: // destination address (NAT)
			o := ip.Dst()
			n := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
			ip.SetDst(n)
			ip.SetChecksum(ChecksumUpdate32(old, o, n))
		}
		if got, want := ip.Checksum(), ip.ComputeChecksum(); got != want {
			t.Fatalf("incremental %#04x != recomputed %#04x for header % x", got, want, h[:ip.HeaderLen()])
		}
		if !ip.ChecksumValid() {
			t.Fatalf("checksum invalid after update: % x", h[:ip.HeaderLen()])
		}
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{20, 1500} {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		b.Run(map[int]string{20: "20B", 1500: "1500B"}[n], func(b *testing.B) {
			b.SetBytes(int64(n))
			var s uint16
			for b.Loop() {
				s += Checksum(buf, 0)
			}
			_ = s
		})
	}
}

func BenchmarkDecTTL(b *testing.B) {
	ip := IPv4(make([]byte, IPv4MinLen))
	ip.Encode(&IPv4Fields{TotalLen: 20, TTL: 64, Protocol: IPProtoUDP})
	for b.Loop() {
		ip.DecTTL()
	}
}
