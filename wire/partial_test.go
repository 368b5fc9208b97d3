package wire

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// ip4With returns an IPv4 packet (header without options) carrying l4.
func ip4With(proto uint8, src, dst [4]byte, flags uint8, fragOff uint16, l4 []byte) []byte {
	b := make([]byte, IPv4MinLen+len(l4))
	IPv4(b).Encode(&IPv4Fields{TotalLen: uint16(len(b)), Flags: flags, FragOffset: fragOff, TTL: 64, Protocol: proto, Src: src, Dst: dst})
	copy(b[IPv4MinLen:], l4)
	return b
}

func mustParseIPv4(t testing.TB, b []byte) IPv4 {
	t.Helper()
	ip, e := ParseIPv4(b)
	if e != IPv4OK {
		t.Fatalf("ParseIPv4: %v", e)
	}
	return ip
}

// TestPartialL4ChecksumGolden: the DNS query and TCP SYN of the golden
// tests, as a sender with checksum offload hands them over (the field
// holding the folded pseudo-header sum, worked out by hand below), are
// completed to the checksums the real packets carried.
func TestPartialL4ChecksumGolden(t *testing.T) {
	src, dst := [4]byte{192, 168, 1, 100}, [4]byte{192, 168, 1, 1}
	tests := []struct {
		name           string
		proto          uint8
		l4             string
		field          int
		partial, final uint16
	}{
		// c0a8+0164+c0a8+0101 + 0011 (UDP) + 0025 (length 37) = 0x83ec folded.
		{"udp dns query", IPProtoUDP, udpDNSQuery, 6, 0x83ec, 0x3175},
		// the same addresses + 0006 (TCP) + 0028 (length 40) = 0x83e4.
		{"tcp syn", IPProtoTCP, tcpSYN, 16, 0x83e4, 0xe784},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := ip4With(tt.proto, src, dst, 0, 0, unhex(t, tt.l4))
			b := append([]byte(nil), orig...)
			ip := mustParseIPv4(t, b)
			if ip.PartialL4Checksum() {
				t.Fatal("a complete checksum taken for a partial one")
			}
			if !ip.SetPartialL4Checksum() {
				t.Fatal("SetPartialL4Checksum refused")
			}
			if got := binary.BigEndian.Uint16(b[IPv4MinLen+tt.field:]); got != tt.partial {
				t.Fatalf("partial field %#04x, want %#04x", got, tt.partial)
			}
			if !ip.PartialL4Checksum() {
				t.Fatal("partial checksum not detected")
			}
			if !ip.CompletePartialL4Checksum() {
				t.Fatal("CompletePartialL4Checksum did nothing")
			}
			if got := binary.BigEndian.Uint16(b[IPv4MinLen+tt.field:]); got != tt.final {
				t.Fatalf("completed field %#04x, want %#04x", got, tt.final)
			}
			if !bytes.Equal(b, orig) {
				t.Fatalf("completion changed other bytes:\n% x\n% x", b, orig)
			}
			if ip.CompletePartialL4Checksum() {
				t.Fatal("completed twice")
			}
		})
	}
}

// pseudoOnes returns a source address for which the pseudo-header sum of
// proto and length with destination 0.0.0.0 is 0xffff, so that the
// checksum field's two representations of zero can be tested.
func pseudoOnes(proto uint8, length uint16) [4]byte {
	w := 0xffff - uint16(proto) - length
	return [4]byte{byte(w >> 8), byte(w), 0, 0}
}

// TestPartialL4ChecksumCases: what is and is not a partial checksum.
func TestPartialL4ChecksumCases(t *testing.T) {
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	udp := func(length uint16, payload int, check uint16) []byte {
		b := make([]byte, UDPLen+payload)
		UDP(b).Encode(&UDPFields{SrcPort: 1000, DstPort: 53, Length: length})
		UDP(b).SetChecksum(check)
		return b
	}
	tcp := func(n int, check uint16) []byte {
		b := make([]byte, n)
		if n >= TCPMinLen {
			TCP(b).Encode(&TCPFields{SrcPort: 1000, DstPort: 80, Flags: TCPFlagACK, Window: 100})
			TCP(b).SetChecksum(check)
		}
		return b
	}
	psUDP := uint16(PseudoHeaderSum(src, dst, IPProtoUDP, 12))
	psTCP := uint16(PseudoHeaderSum(src, dst, IPProtoTCP, 24))
	zsUDP, zsTCP := pseudoOnes(IPProtoUDP, 8), pseudoOnes(IPProtoTCP, 20)
	tests := []struct {
		name string
		ip   []byte
		want bool
	}{
		{"udp partial", ip4With(IPProtoUDP, src, dst, 0, 0, udp(12, 4, psUDP)), true},
		{"udp field off by one", ip4With(IPProtoUDP, src, dst, 0, 0, udp(12, 4, psUDP+1)), false},
		{"udp pseudo sum uses the udp length", ip4With(IPProtoUDP, src, dst, 0, 0, append(udp(12, 4, psUDP), 0, 0)), true},
		{"udp length below header", ip4With(IPProtoUDP, src, dst, 0, 0, udp(7, 4, psUDP)), false},
		{"udp length past the packet", ip4With(IPProtoUDP, src, dst, 0, 0, udp(13, 4, psUDP)), false},
		{"udp header cut", ip4With(IPProtoUDP, src, dst, 0, 0, udp(12, 4, psUDP)[:7]), false},
		{"udp no checksum (0) is never partial", ip4With(IPProtoUDP, zsUDP, [4]byte{}, 0, 0, udp(8, 0, 0)), false},
		{"udp pseudo sum 0xffff stored as 0xffff", ip4With(IPProtoUDP, zsUDP, [4]byte{}, 0, 0, udp(8, 0, 0xffff)), true},
		{"tcp partial", ip4With(IPProtoTCP, src, dst, 0, 0, tcp(24, psTCP)), true},
		{"tcp pseudo sum 0xffff stored as 0x0000", ip4With(IPProtoTCP, zsTCP, [4]byte{}, 0, 0, tcp(20, 0)), true},
		{"tcp pseudo sum 0xffff stored as 0xffff", ip4With(IPProtoTCP, zsTCP, [4]byte{}, 0, 0, tcp(20, 0xffff)), true},
		{"tcp header cut", ip4With(IPProtoTCP, src, dst, 0, 0, tcp(19, 0)), false},
		{"first fragment", ip4With(IPProtoUDP, src, dst, IPv4FlagMF, 0, udp(12, 4, psUDP)), false},
		{"last fragment", ip4With(IPProtoTCP, src, dst, 0, 100, tcp(24, psTCP)), false},
		{"icmp", ip4With(IPProtoICMP, src, dst, 0, 0, udp(12, 4, psUDP)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := mustParseIPv4(t, tt.ip)
			if got := ip.PartialL4Checksum(); got != tt.want {
				t.Fatalf("PartialL4Checksum = %v, want %v", got, tt.want)
			}
			before := append([]byte(nil), ip...)
			if got := ip.CompletePartialL4Checksum(); got != tt.want {
				t.Fatalf("CompletePartialL4Checksum = %v, want %v", got, tt.want)
			}
			if !tt.want {
				if !bytes.Equal(ip, before) {
					t.Fatal("a packet that is not partial was changed")
				}
				return
			}
			if !l4Valid(ip) {
				t.Fatalf("checksum not valid after completion: % x", []byte(ip))
			}
		})
	}
}

// l4Valid checks the completed TCP or UDP checksum with the reference sum.
func l4Valid(ip IPv4) bool {
	seg := ip[ip.HeaderLen():]
	n := uint16(len(seg))
	if ip.Protocol() == IPProtoUDP {
		n = binary.BigEndian.Uint16(seg[4:])
		if binary.BigEndian.Uint16(seg[6:]) == 0 {
			return false // completion never leaves "no checksum"
		}
	}
	return refSum(seg[:n], refPseudo(ip.Src(), ip.Dst(), ip.Protocol(), n)) == 0xffff
}

// TestCompleteUDPChecksumZero: a UDP checksum that computes to 0 is stored
// as 0xffff, since 0 means "no checksum".
func TestCompleteUDPChecksumZero(t *testing.T) {
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	l4 := make([]byte, UDPLen+2)
	UDP(l4).Encode(&UDPFields{SrcPort: 1000, DstPort: 53, Length: 10})
	// Choose the payload word so that everything sums to 0xffff.
	rest := refSum(l4, refPseudo(src, dst, IPProtoUDP, 10))
	binary.BigEndian.PutUint16(l4[8:], uint16(0xffff-rest))
	ip := mustParseIPv4(t, ip4With(IPProtoUDP, src, dst, 0, 0, l4))
	if !ip.SetPartialL4Checksum() || !ip.CompletePartialL4Checksum() {
		t.Fatal("not completed")
	}
	if got := UDP(ip[IPv4MinLen:]).Checksum(); got != 0xffff {
		t.Fatalf("checksum %#04x, want 0xffff", got)
	}
}

// TestCompletionRestoresChecksum: for random TCP and UDP segments with a
// correct checksum, marking the checksum partial and completing it gives
// back the original bytes.
func TestCompletionRestoresChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 2000; n++ {
		src := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		dst := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		var l4 []byte
		proto := uint8(IPProtoUDP)
		if n%2 == 0 {
			proto = IPProtoTCP
			l4 = make([]byte, TCPMinLen+r.IntN(1480))
			for k := range l4 {
				l4[k] = byte(r.Uint32())
			}
			l4[12] = 5 << 4
			TCP(l4).SetChecksum(TCP(l4).ComputeChecksum(src, dst, uint16(len(l4))))
		} else {
			l4 = make([]byte, UDPLen+r.IntN(1480))
			for k := range l4 {
				l4[k] = byte(r.Uint32())
			}
			UDP(l4).SetLength(uint16(len(l4)))
			UDP(l4).SetChecksum(UDP(l4).ComputeChecksum(src, dst))
		}
		orig := ip4With(proto, src, dst, 0, 0, l4)
		b := append([]byte(nil), orig...)
		ip := mustParseIPv4(t, b)
		if !ip.SetPartialL4Checksum() || !ip.CompletePartialL4Checksum() || !bytes.Equal(b, orig) {
			t.Fatalf("round trip %d (proto %d, %d bytes):\n% x\n% x", n, proto, len(l4), b, orig)
		}
	}
}

func TestCompletionAllocatesNothing(t *testing.T) {
	ip := mustParseIPv4(t, ip4With(IPProtoTCP, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 0, 0, unhex(t, tcpSYN)))
	if n := testing.AllocsPerRun(100, func() {
		ip.SetPartialL4Checksum()
		ip.CompletePartialL4Checksum()
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzPartialL4Checksum: for any bytes that parse as IPv4, detection and
// completion stay in bounds, agree with a reference, touch nothing but the
// checksum field, and leave a checksum that verifies.
func FuzzPartialL4Checksum(f *testing.F) {
	src, dst := [4]byte{192, 168, 1, 100}, [4]byte{192, 168, 1, 1}
	udp := ip4With(IPProtoUDP, src, dst, 0, 0, unhex(f, udpDNSQuery))
	IPv4(udp).SetPartialL4Checksum()
	tcp := ip4With(IPProtoTCP, src, dst, 0, 0, unhex(f, tcpSYN))
	IPv4(tcp).SetPartialL4Checksum()
	f.Add(udp)
	f.Add(tcp)
	f.Add(ip4With(IPProtoTCP, src, dst, 0, 0, unhex(f, tcpSYN)))                                            // complete
	f.Add(ip4With(IPProtoUDP, pseudoOnes(IPProtoUDP, 8), [4]byte{}, 0, 0, make([]byte, 8)))                 // no checksum
	f.Add(ip4With(IPProtoUDP, src, dst, IPv4FlagMF, 0, unhex(f, udpDNSQuery)))                              // fragment
	f.Add(append(unhex(f, "4600 0020 0000 0000 4006 0000 0a000001 0a000002 01010101"), make([]byte, 8)...)) // options, TCP cut
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, e := ParseIPv4(b)
		if e != IPv4OK {
			return
		}
		// Marked partial as an offloading sender would, any TCP/UDP segment
		// is detected and completed to a checksum that verifies.
		c := IPv4(append([]byte(nil), ip...))
		if c.SetPartialL4Checksum() {
			if !c.PartialL4Checksum() || !refPartial(c) {
				t.Fatal("a checksum marked partial is not detected")
			}
			if !c.CompletePartialL4Checksum() || !l4Valid(c) {
				t.Fatal("completion of a marked checksum does not verify")
			}
		}
		want := refPartial(ip)
		// The first test in ip4-input may flag more, never less — but for
		// UDP it takes the length from IPv4, not from the UDP header.
		udpLenDiffers := ip.Protocol() == IPProtoUDP && len(ip) >= ip.HeaderLen()+UDPLen &&
			int(binary.BigEndian.Uint16(ip[ip.HeaderLen()+4:])) != len(ip)-ip.HeaderLen()
		if want && !udpLenDiffers && !ip.MaybePartialL4Checksum() {
			t.Fatal("MaybePartialL4Checksum misses a partial checksum")
		}
		if got := ip.PartialL4Checksum(); got != want {
			t.Fatalf("PartialL4Checksum %v, reference %v", got, want)
		}
		before := append([]byte(nil), ip...)
		if got := ip.CompletePartialL4Checksum(); got != want {
			t.Fatalf("CompletePartialL4Checksum %v, reference %v", got, want)
		}
		if !want {
			if !bytes.Equal(ip, before) {
				t.Fatal("changed a packet that is not partial")
			}
			return
		}
		f := ip.HeaderLen() + 6
		if ip.Protocol() == IPProtoTCP {
			f = ip.HeaderLen() + 16
		}
		if !bytes.Equal(zeroed(ip, f), zeroed(before, f)) {
			t.Fatal("completion changed bytes outside the checksum field")
		}
		if !l4Valid(ip) {
			t.Fatal("completed checksum does not verify")
		}
	})
}

// refPartial is the slow reference for PartialL4Checksum.
func refPartial(ip IPv4) bool {
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return false
	}
	seg := []byte(ip[int(ip[0]&0xf)*4:])
	var n int
	var field uint16
	switch ip[9] {
	case IPProtoUDP:
		if len(seg) < 8 {
			return false
		}
		n = int(seg[4])<<8 | int(seg[5])
		if n < 8 || n > len(seg) {
			return false
		}
		field = uint16(seg[6])<<8 | uint16(seg[7])
		if field == 0 {
			return false
		}
	case IPProtoTCP:
		if len(seg) < 20 {
			return false
		}
		n = len(seg)
		field = uint16(seg[16])<<8 | uint16(seg[17])
	default:
		return false
	}
	ps := uint16(refPseudo([4]byte(ip[12:16]), [4]byte(ip[16:20]), ip[9], uint16(n)))
	norm := func(x uint16) uint16 {
		if x == 0 {
			return 0xffff
		}
		return x
	}
	return norm(field) == norm(ps)
}
